package pgsource

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/snapexport/snapexport/source"
)

// connParams are the connection-string parameters a source URL (or
// key/value string) may carry: where and how to connect, authenticate and
// encrypt, and the pool's size and lifetimes. None is a server setting:
// anything pgx does not know is sent to the server as a run-time parameter
// at connection start (options=-c default_transaction_read_only=off would
// make the session writable), and pgx's own statement-mode parameters
// change how results come back, so every other parameter is refused.
var connParams = []string{
	"application_name", "channel_binding", "connect_timeout", "dbname", "host", "krbspn", "krbsrvname",
	"max_protocol_version", "min_protocol_version", "passfile", "password",
	"pool_health_check_period", "pool_max_conn_idle_time", "pool_max_conn_lifetime", "pool_max_conn_lifetime_jitter",
	"pool_max_conns", "pool_min_conns", "pool_min_idle_conns", "port", "require_auth", "service", "servicefile",
	"sslcert", "sslcertmode", "sslkey", "sslmode", "sslnegotiation", "sslpassword", "sslrootcert", "sslsni",
	"target_session_attrs", "user",
}

// runtimeParams are the server run-time parameters a connection may start
// with, whatever set them (PGAPPNAME and PGTZ in the environment, a service
// file): application_name, and timezone and client_encoding, which every
// connection and scan sets again (client_encoding is always UTF8, so a
// PGCLIENTENCODING meant for psql does no harm).
var runtimeParams = []string{"application_name", "client_encoding", "timezone"}

// connSettings is what the raw connection string says, before pgx adds the
// environment, the service file and its defaults.
type connSettings struct {
	keys     []string // parameter names, sorted
	database string   // the database it names, "" for none
}

// parseConnString reads the parameter names and the database of a
// postgres:// URL or a key/value string ("host=... dbname=..."), and
// refuses parameters outside connParams. Errors show no value.
func parseConnString(raw string) (connSettings, error) {
	var cs connSettings
	var keys map[string]string
	if strings.HasPrefix(raw, "postgres://") || strings.HasPrefix(raw, "postgresql://") {
		u, err := url.Parse(raw)
		if err != nil {
			return cs, fmt.Errorf("pgsource: invalid URL %q", source.Redact(raw))
		}
		keys = map[string]string{}
		for k, v := range u.Query() {
			keys[k] = v[len(v)-1]
		}
		cs.database = strings.TrimPrefix(u.Path, "/")
	} else {
		var err error
		if keys, err = keyValueSettings(raw); err != nil {
			return cs, err
		}
	}
	for k := range keys {
		cs.keys = append(cs.keys, k)
	}
	sort.Strings(cs.keys)
	for _, k := range cs.keys {
		if !slices.Contains(connParams, k) {
			return cs, fmt.Errorf("pgsource: connection string %q: parameter %q is not allowed: the source is only read, and the server would take an unknown parameter as a setting of the session (allowed: %s)",
				source.Redact(raw), k, strings.Join(connParams, ", "))
		}
	}
	if d, ok := keys["dbname"]; ok {
		cs.database = d
	}
	return cs, nil
}

// keyValueSettings parses a libpq key/value connection string:
// key = value pairs separated by spaces, values optionally in single
// quotes with \' and \\ escapes.
func keyValueSettings(s string) (map[string]string, error) {
	out := map[string]string{}
	for {
		s = strings.TrimLeft(s, " \t\n\r\v\f")
		if s == "" {
			return out, nil
		}
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return nil, fmt.Errorf("pgsource: connection string %q: want key=value pairs or a postgres:// URL", source.Redact(s))
		}
		key := strings.TrimSpace(s[:eq])
		s = strings.TrimLeft(s[eq+1:], " \t\n\r\v\f")
		var val strings.Builder
		if strings.HasPrefix(s, "'") {
			i := 1
			for ; i < len(s) && s[i] != '\''; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				val.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("pgsource: connection string: unterminated quoted value of %q", key)
			}
			s = s[i+1:]
		} else {
			end := strings.IndexAny(s, " \t\n\r\v\f")
			if end < 0 {
				end = len(s)
			}
			val.WriteString(strings.ReplaceAll(s[:end], `\`, ""))
			s = s[end:]
		}
		if key == "" || strings.ContainsAny(key, " \t'") {
			return nil, fmt.Errorf("pgsource: connection string: invalid key %q", key)
		}
		out[key] = val.String()
	}
}

// checkRuntimeParams refuses run-time parameters that came from outside the
// connection string (PGOPTIONS, a service file): the server would apply
// them to every session.
func checkRuntimeParams(cfg *pgxpool.Config) error {
	var bad []string
	for k := range cfg.ConnConfig.RuntimeParams {
		if !slices.Contains(runtimeParams, k) {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("pgsource: connection setting %q (from the environment, e.g. PGOPTIONS, or a service file) is not allowed: the source is only read and its sessions use this package's settings (allowed run-time parameters: %s)",
			bad[0], strings.Join(runtimeParams, ", "))
	}
	return nil
}
