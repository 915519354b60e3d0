from labrun.checks import CheckFailed, task


@task("provisioned")
def provisioned(ctx):
    if ctx.outputs.get("bucket") != f"bench-{ctx.session}":
        raise CheckFailed("the bucket is not named after this session")
    if ctx.outputs.get("network") != f"bench-{ctx.session}":
        raise CheckFailed("the network is not named after this session")
