// Package envvars is the table of every VECTORSTREAM_* environment variable: the
// settings each command reads (VECTORSTREAM_<PATH>, one per scalar path of the
// configuration schema the command reads, as internal/yamlconf derives them) and the
// reserved names that are not settings (a crash point, test and deploy switches), each
// with what it is for and which child processes the harness passes it on to.
//
// The binary checks its environment against the table before it does anything else
// (Table.Check), and the harness gives each child process only the reserved names meant
// for it (childproc.Env, with PassedTo). The README's "Environment variables" table is
// Table.Markdown.
//
// It holds no schema itself: cmd/vectorstream says which command reads which schema.
// It reads no environment and must not import the packages that define the schemas.
package envvars
