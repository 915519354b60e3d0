from labrun.checks import CheckFailed, task


@task("serve")
def serve(ctx):
    name = f"web-{ctx.session}"
    try:
        container = ctx.docker.containers.get(name)
    except Exception:
        raise CheckFailed(f"no container named {name}") from None
    networks = container.attrs["NetworkSettings"]["Networks"]
    if ctx.outputs["network"] not in networks:
        raise CheckFailed(f"{name} is not on the lab network {ctx.outputs['network']}")
