-- Each event record's current version (or as known on var('known_on')).
{{ as_known_on(ref('stg_ledger__event_records'), ['source_name', 'agency', 'record_id']) }}
