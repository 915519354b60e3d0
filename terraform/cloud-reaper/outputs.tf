# The same fields as `labrun reaper deploy --json` (package: the zip that was uploaded).
output "function_name" { value = aws_lambda_function.reaper.function_name }
output "handler" { value = aws_lambda_function.reaper.handler }
output "package" { value = local.package }
output "schedule" { value = aws_cloudwatch_event_rule.schedule.arn }
output "role" { value = aws_iam_role.reaper.arn }
output "region" { value = local.region }
output "account_id" { value = local.account }
