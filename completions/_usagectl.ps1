
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'usagectl' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'usagectl'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'usagectl' {
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour table output (never for JSON or CSV)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Create or adopt the usage_events table and apply the tool''s additive migrations')
            [CompletionResult]::new('record', 'record', [CompletionResultType]::ParameterValue, 'Record one usage event')
            [CompletionResult]::new('summary', 'summary', [CompletionResultType]::ParameterValue, 'Summarise an organisation''s usage over the last N days')
            [CompletionResult]::new('demo', 'demo', [CompletionResultType]::ParameterValue, 'Start (or reuse) a private local PostgreSQL, load a sample month and show a summary')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            break
        }
        'usagectl;migrate' {
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour table output (never for JSON or CSV)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the SQL that would run, and run nothing')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'usagectl;record' {
            [CompletionResult]::new('--org', '--org', [CompletionResultType]::ParameterName, 'Organisation id (stored exactly as given)')
            [CompletionResult]::new('--event', '--event', [CompletionResultType]::ParameterName, 'Event type: one of the 11 known types (see --help)')
            [CompletionResult]::new('--quantity', '--quantity', [CompletionResultType]::ParameterName, 'Units consumed: a positive whole number that fits PostgreSQL''s integer')
            [CompletionResult]::new('--metadata', '--metadata', [CompletionResultType]::ParameterName, 'A JSON object stored in the metadata column')
            [CompletionResult]::new('--at', '--at', [CompletionResultType]::ParameterName, 'When the event happened (RFC 3339, e.g. 2025-12-01T09:30:00Z); at most 5 minutes ahead')
            [CompletionResult]::new('--idempotency-key', '--idempotency-key', [CompletionResultType]::ParameterName, 'Retry key: recording the same key again for the org stores nothing new')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour table output (never for JSON or CSV)')
            [CompletionResult]::new('--custom-event', '--custom-event', [CompletionResultType]::ParameterName, 'Accept an event type that is not one of the 11 known ones, on purpose')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'usagectl;summary' {
            [CompletionResult]::new('--org', '--org', [CompletionResultType]::ParameterName, 'Organisation id')
            [CompletionResult]::new('--days', '--days', [CompletionResultType]::ParameterName, 'Days to look back, 1 to 365')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour table output (never for JSON or CSV)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'usagectl;demo' {
            [CompletionResult]::new('--org', '--org', [CompletionResultType]::ParameterName, 'Org whose summary to show (acme-foods, northwind-plant, globex-trial, initech)')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Directory of the demo cluster')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour table output (never for JSON or CSV)')
            [CompletionResult]::new('--stop', '--stop', [CompletionResultType]::ParameterName, 'Stop the demo cluster and exit')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'usagectl;completions' {
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour table output (never for JSON or CSV)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
