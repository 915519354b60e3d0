import time

from labrun.checks import task


@task("hangs")
def hangs(ctx):
    time.sleep(600)


@task("raises")
def raises(ctx):
    return {}["missing"]


@task("fine")
def fine(ctx):
    pass
