// Quiet handler logs in tests; a test that checks log lines turns them on (support/invoke.ts captureLogs).
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
