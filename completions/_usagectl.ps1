
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
            [CompletionResult]::new('--database-url-file', '--database-url-file', [CompletionResultType]::ParameterName, 'Read the connection string from a file (keeps it out of the process list)')
            [CompletionResult]::new('--read-database-url', '--read-database-url', [CompletionResultType]::ParameterName, 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary')
            [CompletionResult]::new('--max-staleness', '--max-staleness', [CompletionResultType]::ParameterName, 'Most replay lag, in seconds, at which the read replica is still used')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour table output (never for JSON or CSV)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Create or adopt the usage_events table and apply the tool''s additive migrations')
            [CompletionResult]::new('record', 'record', [CompletionResultType]::ParameterValue, 'Record one usage event')
            [CompletionResult]::new('summary', 'summary', [CompletionResultType]::ParameterValue, 'Summarise an organisation''s usage over the last N days')
            [CompletionResult]::new('limits', 'limits', [CompletionResultType]::ParameterValue, 'Show an organisation''s month usage against its tier''s limits')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Quota status (ok, approaching_limit, over_limit) of one org or all, as an exit code')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Export a period''s usage (totals or raw events) for finance, as CSV, JSON or JSON Lines')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check the schema and that the daily rollup agrees with the raw rows (--repair fixes it)')
            [CompletionResult]::new('tier', 'tier', [CompletionResultType]::ParameterValue, 'Manage tiers, their limits, org assignments and per-org overrides')
            [CompletionResult]::new('demo', 'demo', [CompletionResultType]::ParameterValue, 'Start (or reuse) a private local PostgreSQL, load a sample month and show a summary')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            break
        }
        'usagectl;migrate' {
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url-file', '--database-url-file', [CompletionResultType]::ParameterName, 'Read the connection string from a file (keeps it out of the process list)')
            [CompletionResult]::new('--read-database-url', '--read-database-url', [CompletionResultType]::ParameterName, 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary')
            [CompletionResult]::new('--max-staleness', '--max-staleness', [CompletionResultType]::ParameterName, 'Most replay lag, in seconds, at which the read replica is still used')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour table output (never for JSON or CSV)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the SQL that would run, and run nothing')
            [CompletionResult]::new('--roles', '--roles', [CompletionResultType]::ParameterName, 'Also create (idempotently) the usage_reader and usage_writer roles, enable the seed''s RLS policy, and print which command needs which role')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'usagectl;record' {
            [CompletionResult]::new('--org', '--org', [CompletionResultType]::ParameterName, 'Organisation id (stored exactly as given)')
            [CompletionResult]::new('--event', '--event', [CompletionResultType]::ParameterName, 'Event type: one of the 11 known types (see --help)')
            [CompletionResult]::new('--quantity', '--quantity', [CompletionResultType]::ParameterName, 'Units consumed: a positive whole number that fits PostgreSQL''s integer (negative only with --adjust)')
            [CompletionResult]::new('--metadata', '--metadata', [CompletionResultType]::ParameterName, 'A JSON object stored in the metadata column')
            [CompletionResult]::new('--at', '--at', [CompletionResultType]::ParameterName, 'When the event happened (RFC 3339, e.g. 2025-12-01T09:30:00Z): from 1970 on, at most 5 minutes ahead')
            [CompletionResult]::new('--idempotency-key', '--idempotency-key', [CompletionResultType]::ParameterName, 'Retry key: recording the same key again for the org stores nothing new')
            [CompletionResult]::new('--reason', '--reason', [CompletionResultType]::ParameterName, 'Why the correction is made (stored in metadata with who made it)')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Record every row of a CSV or JSON Lines file (`-` for stdin), all or nothing')
            [CompletionResult]::new('--input-format', '--input-format', [CompletionResultType]::ParameterName, 'Format of --file (default: from its extension: .csv, .jsonl, .ndjson)')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url-file', '--database-url-file', [CompletionResultType]::ParameterName, 'Read the connection string from a file (keeps it out of the process list)')
            [CompletionResult]::new('--read-database-url', '--read-database-url', [CompletionResultType]::ParameterName, 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary')
            [CompletionResult]::new('--max-staleness', '--max-staleness', [CompletionResultType]::ParameterName, 'Most replay lag, in seconds, at which the read replica is still used')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour table output (never for JSON or CSV)')
            [CompletionResult]::new('--custom-event', '--custom-event', [CompletionResultType]::ParameterName, 'Accept event types that are not one of the 11 known ones, on purpose')
            [CompletionResult]::new('--enforce', '--enforce', [CompletionResultType]::ParameterName, 'Record only within the limits: the event (or, with --file, each org''s rows as a whole) is refused with exit 4 if it would take a metric past its limit')
            [CompletionResult]::new('--adjust', '--adjust', [CompletionResultType]::ParameterName, 'A correction: --quantity may be negative; needs --reason')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'With --file: validate every row and report, record nothing')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
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
            [CompletionResult]::new('--database-url-file', '--database-url-file', [CompletionResultType]::ParameterName, 'Read the connection string from a file (keeps it out of the process list)')
            [CompletionResult]::new('--read-database-url', '--read-database-url', [CompletionResultType]::ParameterName, 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary')
            [CompletionResult]::new('--max-staleness', '--max-staleness', [CompletionResultType]::ParameterName, 'Most replay lag, in seconds, at which the read replica is still used')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour table output (never for JSON or CSV)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'usagectl;limits' {
            [CompletionResult]::new('--org', '--org', [CompletionResultType]::ParameterName, 'Organisation id')
            [CompletionResult]::new('--month', '--month', [CompletionResultType]::ParameterName, 'Month to count, YYYY-MM in UTC (default: the current month)')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url-file', '--database-url-file', [CompletionResultType]::ParameterName, 'Read the connection string from a file (keeps it out of the process list)')
            [CompletionResult]::new('--read-database-url', '--read-database-url', [CompletionResultType]::ParameterName, 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary')
            [CompletionResult]::new('--max-staleness', '--max-staleness', [CompletionResultType]::ParameterName, 'Most replay lag, in seconds, at which the read replica is still used')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour table output (never for JSON or CSV)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'usagectl;status' {
            [CompletionResult]::new('--org', '--org', [CompletionResultType]::ParameterName, 'Organisation id')
            [CompletionResult]::new('--month', '--month', [CompletionResultType]::ParameterName, 'Month to check, YYYY-MM in UTC (default: the current month)')
            [CompletionResult]::new('--warn-at', '--warn-at', [CompletionResultType]::ParameterName, 'Percentage of a limit at which the status becomes approaching_limit')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url-file', '--database-url-file', [CompletionResultType]::ParameterName, 'Read the connection string from a file (keeps it out of the process list)')
            [CompletionResult]::new('--read-database-url', '--read-database-url', [CompletionResultType]::ParameterName, 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary')
            [CompletionResult]::new('--max-staleness', '--max-staleness', [CompletionResultType]::ParameterName, 'Most replay lag, in seconds, at which the read replica is still used')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour table output (never for JSON or CSV)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every org with events in the month or a tier assignment')
            [CompletionResult]::new('--problems-only', '--problems-only', [CompletionResultType]::ParameterName, 'With --all: hide the orgs whose status is ok')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'usagectl;export' {
            [CompletionResult]::new('--month', '--month', [CompletionResultType]::ParameterName, 'Month to export, YYYY-MM (UTC)')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'First month of a range (inclusive)')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'Last month of a range (inclusive)')
            [CompletionResult]::new('--org', '--org', [CompletionResultType]::ParameterName, 'Only this organisation')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write to FILE (atomically, with FILE.manifest.json); `-` or no flag: stdout')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Recompute the period of MANIFEST and list the totals that changed since')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url-file', '--database-url-file', [CompletionResultType]::ParameterName, 'Read the connection string from a file (keeps it out of the process list)')
            [CompletionResult]::new('--read-database-url', '--read-database-url', [CompletionResultType]::ParameterName, 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary')
            [CompletionResult]::new('--max-staleness', '--max-staleness', [CompletionResultType]::ParameterName, 'Most replay lag, in seconds, at which the read replica is still used')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour table output (never for JSON or CSV)')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Every event (id, org_id, event_type, quantity, created_at, metadata) instead of totals')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace an existing FILE')
            [CompletionResult]::new('--no-formula-escape', '--no-formula-escape', [CompletionResultType]::ParameterName, 'Leave text cells as they are (for machine readers, not spreadsheets)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'usagectl;doctor' {
            [CompletionResult]::new('--month', '--month', [CompletionResultType]::ParameterName, 'Month whose rollup to recompute, YYYY-MM in UTC (default: the current month)')
            [CompletionResult]::new('--org', '--org', [CompletionResultType]::ParameterName, 'Only this organisation''s rollup')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url-file', '--database-url-file', [CompletionResultType]::ParameterName, 'Read the connection string from a file (keeps it out of the process list)')
            [CompletionResult]::new('--read-database-url', '--read-database-url', [CompletionResultType]::ParameterName, 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary')
            [CompletionResult]::new('--max-staleness', '--max-staleness', [CompletionResultType]::ParameterName, 'Most replay lag, in seconds, at which the read replica is still used')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour table output (never for JSON or CSV)')
            [CompletionResult]::new('--repair', '--repair', [CompletionResultType]::ParameterName, 'Rewrite the rollup rows that disagree with the raw rows')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'usagectl;tier' {
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url-file', '--database-url-file', [CompletionResultType]::ParameterName, 'Read the connection string from a file (keeps it out of the process list)')
            [CompletionResult]::new('--read-database-url', '--read-database-url', [CompletionResultType]::ParameterName, 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary')
            [CompletionResult]::new('--max-staleness', '--max-staleness', [CompletionResultType]::ParameterName, 'Most replay lag, in seconds, at which the read replica is still used')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour table output (never for JSON or CSV)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List every tier and its six limits')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a tier with the limits of another')
            [CompletionResult]::new('set-limit', 'set-limit', [CompletionResultType]::ParameterValue, 'Set one limit of a tier (-1 = unlimited)')
            [CompletionResult]::new('assign', 'assign', [CompletionResultType]::ParameterValue, 'Assign an org to a tier')
            [CompletionResult]::new('override', 'override', [CompletionResultType]::ParameterValue, 'Override one limit for one org (an enterprise contract), or clear the override')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show an org''s effective limits and where each comes from')
            break
        }
        'usagectl;tier;list' {
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url-file', '--database-url-file', [CompletionResultType]::ParameterName, 'Read the connection string from a file (keeps it out of the process list)')
            [CompletionResult]::new('--read-database-url', '--read-database-url', [CompletionResultType]::ParameterName, 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary')
            [CompletionResult]::new('--max-staleness', '--max-staleness', [CompletionResultType]::ParameterName, 'Most replay lag, in seconds, at which the read replica is still used')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour table output (never for JSON or CSV)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'usagectl;tier;create' {
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Tier whose limits to copy')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url-file', '--database-url-file', [CompletionResultType]::ParameterName, 'Read the connection string from a file (keeps it out of the process list)')
            [CompletionResult]::new('--read-database-url', '--read-database-url', [CompletionResultType]::ParameterName, 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary')
            [CompletionResult]::new('--max-staleness', '--max-staleness', [CompletionResultType]::ParameterName, 'Most replay lag, in seconds, at which the read replica is still used')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour table output (never for JSON or CSV)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'usagectl;tier;set-limit' {
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url-file', '--database-url-file', [CompletionResultType]::ParameterName, 'Read the connection string from a file (keeps it out of the process list)')
            [CompletionResult]::new('--read-database-url', '--read-database-url', [CompletionResultType]::ParameterName, 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary')
            [CompletionResult]::new('--max-staleness', '--max-staleness', [CompletionResultType]::ParameterName, 'Most replay lag, in seconds, at which the read replica is still used')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour table output (never for JSON or CSV)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'usagectl;tier;assign' {
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url-file', '--database-url-file', [CompletionResultType]::ParameterName, 'Read the connection string from a file (keeps it out of the process list)')
            [CompletionResult]::new('--read-database-url', '--read-database-url', [CompletionResultType]::ParameterName, 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary')
            [CompletionResult]::new('--max-staleness', '--max-staleness', [CompletionResultType]::ParameterName, 'Most replay lag, in seconds, at which the read replica is still used')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour table output (never for JSON or CSV)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'usagectl;tier;override' {
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url-file', '--database-url-file', [CompletionResultType]::ParameterName, 'Read the connection string from a file (keeps it out of the process list)')
            [CompletionResult]::new('--read-database-url', '--read-database-url', [CompletionResultType]::ParameterName, 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary')
            [CompletionResult]::new('--max-staleness', '--max-staleness', [CompletionResultType]::ParameterName, 'Most replay lag, in seconds, at which the read replica is still used')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour table output (never for JSON or CSV)')
            [CompletionResult]::new('--clear', '--clear', [CompletionResultType]::ParameterName, 'Remove the override: the tier''s limit applies again')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'usagectl;tier;show' {
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url-file', '--database-url-file', [CompletionResultType]::ParameterName, 'Read the connection string from a file (keeps it out of the process list)')
            [CompletionResult]::new('--read-database-url', '--read-database-url', [CompletionResultType]::ParameterName, 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary')
            [CompletionResult]::new('--max-staleness', '--max-staleness', [CompletionResultType]::ParameterName, 'Most replay lag, in seconds, at which the read replica is still used')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour table output (never for JSON or CSV)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
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
            [CompletionResult]::new('--database-url-file', '--database-url-file', [CompletionResultType]::ParameterName, 'Read the connection string from a file (keeps it out of the process list)')
            [CompletionResult]::new('--read-database-url', '--read-database-url', [CompletionResultType]::ParameterName, 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary')
            [CompletionResult]::new('--max-staleness', '--max-staleness', [CompletionResultType]::ParameterName, 'Most replay lag, in seconds, at which the read replica is still used')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour table output (never for JSON or CSV)')
            [CompletionResult]::new('--stop', '--stop', [CompletionResultType]::ParameterName, 'Stop the demo cluster and exit')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'usagectl;completions' {
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'PostgreSQL connection: a postgres:// URL or a libpq key=value string')
            [CompletionResult]::new('--database-url-file', '--database-url-file', [CompletionResultType]::ParameterName, 'Read the connection string from a file (keeps it out of the process list)')
            [CompletionResult]::new('--read-database-url', '--read-database-url', [CompletionResultType]::ParameterName, 'A read replica for summary, limits, status and export, used while its replay lag is under --max-staleness; record, tier and migrate always use the primary')
            [CompletionResult]::new('--max-staleness', '--max-staleness', [CompletionResultType]::ParameterName, 'Most replay lag, in seconds, at which the read replica is still used')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table; csv for export]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour table output (never for JSON or CSV)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say on stderr where usagectl connects (never the password)')
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
