from labrun.checks import task


@task("nothing")
def nothing(ctx):
    pass
