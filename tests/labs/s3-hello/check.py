from labrun.checks import CheckFailed, task


def _body(ctx):
    s3 = ctx.aws.client("s3")
    try:
        return s3.get_object(Bucket=ctx.outputs["bucket"], Key="hello.txt")["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None


@task("upload")
def upload(ctx):
    if _body(ctx) is None:
        raise CheckFailed("hello.txt is not in the bucket yet")


@task("content", needs=["upload"])
def content(ctx):
    if b"hello" not in _body(ctx):
        raise CheckFailed("hello.txt does not say hello")
