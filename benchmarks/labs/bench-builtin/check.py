from labrun.checks import CheckFailed, task


@task("provisioned")
def provisioned(ctx):
    steps = ctx.outputs.get("steps") or []
    if len(steps) != 5:
        raise CheckFailed(f"{len(steps)} of 5 steps in the outputs")
    if not all(step.startswith(f"{ctx.session}-") for step in steps):
        raise CheckFailed("the steps are not named after this session")
