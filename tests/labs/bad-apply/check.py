from labrun.checks import task


@task("never")
def never(ctx):
    pass
