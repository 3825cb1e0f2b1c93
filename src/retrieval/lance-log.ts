/**
 * Quiets LanceDB's Rust log before its native module loads (it reads LANCEDB_LOG once, at load): by
 * default it writes WARN lines to stderr for ordinary events (a table created, a small k-means), which
 * would break the CLI's rule of one clear line per problem. A user debugging LanceDB sets LANCEDB_LOG
 * (e.g. `LANCEDB_LOG=debug`) and it is left as set. Every module that imports `@lancedb/lancedb` imports
 * this one first.
 */
process.env.LANCEDB_LOG ??= 'off';
