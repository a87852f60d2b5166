package mysqlsource

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/typemap"
)

// Scheme and SchemeMariaDB are the URL schemes the driver registers.
const (
	Scheme        = "mysql"
	SchemeMariaDB = "mariadb"
)

func init() {
	open := func(ctx context.Context, u *url.URL) (source.Source, error) {
		return OpenURL(ctx, u.String(), Options{})
	}
	source.Register(Scheme, open)
	source.Register(SchemeMariaDB, open)
}

// Options tune a [Source]. The zero value is the default.
type Options struct {
	// Databases restricts the Source to these databases. Nil means the
	// database the connection names (the URL's path, Config.DBName, the
	// pool's DATABASE()), or every database the account can see when it
	// names none; [source.SnapshotOptions.Databases] narrows further.
	Databases []string
	// Identity replaces the identity the source derives (the URL without
	// password, or for [OpenDB] one built from the server's host name,
	// port and current user).
	Identity string
	// NoLock never takes FLUSH TABLES WITH READ LOCK: every snapshot is the
	// single-connection fallback (one connection reads every table in
	// turn), as when the account lacks the RELOAD privilege. The URL
	// parameter lock=none sets it.
	NoLock bool
	// LockWaitTimeout bounds every wait of the export for a lock. FLUSH
	// TABLES WITH READ LOCK waits for running statements (the server blocks
	// writes while it waits); past the bound the snapshot falls back to one
	// connection. A scan waits for a table's metadata lock when a DDL
	// statement queued behind the lock another snapshot connection holds;
	// past the bound the scan fails naming the table, where it would
	// otherwise wait for the DDL, which waits for the export (the server's
	// own default is a day). Default 10s. The URL parameter
	// lock_wait_timeout (a Go duration) sets it.
	LockWaitTimeout time.Duration
	// NetWriteTimeout is the session net_write_timeout of snapshot
	// connections: how long the server waits for a slow reader (an upload
	// that stalls) before it aborts a scan. Default 1h.
	NetWriteTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.LockWaitTimeout <= 0 {
		o.LockWaitTimeout = 10 * time.Second
	}
	if o.NetWriteTimeout <= 0 {
		o.NetWriteTimeout = time.Hour
	}
	return o
}

// readSQLMode is the sql_mode of every snapshot connection. Reads depend on
// two flags only: PAD_CHAR_TO_FULL_LENGTH would pad CHAR values and
// ANSI_QUOTES would change identifier quoting (the driver quotes with
// backticks, which work either way). Neither is set here whatever the
// server's default, so servers with different modes export the same bytes.
// NO_ENGINE_SUBSTITUTION is MySQL 5.6's default and affects nothing read.
const readSQLMode = "NO_ENGINE_SUBSTITUTION"

// Source reads MySQL or MariaDB. It is safe for concurrent use.
type Source struct {
	db       *sql.DB
	ownsDB   bool
	engine   string // typemap.EngineMySQL or typemap.EngineMariaDB
	version  string // VERSION()
	major    int    // server version, for statements that changed
	minor    int
	identity string
	user     string // CURRENT_USER() quoted as 'user'@'host', for GRANT hints
	secret   string // the password, hidden in every error (see redact)
	opts     Options
}

var _ source.Source = (*Source)(nil)

// OpenURL opens mysql://user:password@host:port/database?params (or
// mariadb://; see the package documentation for the parameters).
func OpenURL(ctx context.Context, rawURL string, opts Options) (*Source, error) {
	cfg, id, urlOpts, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if urlOpts.NoLock {
		opts.NoLock = true
	}
	if opts.LockWaitTimeout == 0 {
		opts.LockWaitTimeout = urlOpts.LockWaitTimeout
	}
	if opts.Identity == "" {
		opts.Identity = id
	}
	return OpenConfig(ctx, cfg, opts)
}

// OpenConfig opens a source from a driver configuration. The configuration
// is copied, and the copy is made fit for exporting: text values (no
// parseTime), the utf8mb4 character set, and the session settings every
// connection of the source needs (time_zone '+00:00', a fixed sql_mode).
func OpenConfig(ctx context.Context, cfg *mysql.Config, opts Options) (*Source, error) {
	c := cfg.Clone()
	c.ParseTime = false
	c.InterpolateParams = false
	c.ColumnsWithAlias = false
	if err := c.Apply(mysql.Charset("utf8mb4", "")); err != nil {
		return nil, fmt.Errorf("mysqlsource: configure: %w", err)
	}
	if c.Params == nil {
		c.Params = map[string]string{}
	}
	// Session variables the driver sets on every new connection; they
	// replace any the configuration named.
	c.Params["time_zone"] = "'+00:00'"
	c.Params["sql_mode"] = "'" + readSQLMode + "'"
	conn, err := mysql.NewConnector(c)
	if err != nil {
		return nil, fmt.Errorf("mysqlsource: configure: %w", err)
	}
	if opts.Identity == "" {
		opts.Identity = configIdentity(c)
	}
	db := sql.OpenDB(readOnlyConnector{conn})
	s, err := open(ctx, db, opts)
	if err != nil {
		db.Close()
		return nil, source.RedactError(err, c.Passwd)
	}
	s.ownsDB = true
	s.secret = c.Passwd
	return s, nil
}

// readOnlyConnector makes every connection of the pool read-only before
// database/sql hands it out (SET SESSION TRANSACTION READ ONLY): the source
// is only read, catalog queries on the pool included. The driver has no
// connect hook of its own.
type readOnlyConnector struct{ driver.Connector }

func (c readOnlyConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	ex, ok := conn.(driver.ExecerContext)
	if !ok {
		conn.Close()
		return nil, errors.New("mysqlsource: the driver's connection cannot execute statements")
	}
	if _, err := ex.ExecContext(ctx, "SET SESSION TRANSACTION READ ONLY", nil); err != nil {
		conn.Close()
		return nil, fmt.Errorf("mysqlsource: make the session read-only: %w", err)
	}
	return conn, nil
}

// OpenDB opens a source over the caller's pool, which stays the caller's:
// Close does not close it. The pool must return text values (no
// parseTime=true) and allow Workers+2 connections at once (the snapshot's
// connections, one for the lock, one for the catalog). Snapshot
// connections get the session settings of the package documentation;
// catalog queries run on the pool as configured.
func OpenDB(ctx context.Context, db *sql.DB, opts Options) (*Source, error) {
	return open(ctx, db, opts)
}

func open(ctx context.Context, db *sql.DB, opts Options) (*Source, error) {
	s := &Source{db: db, opts: opts.withDefaults()}
	var user, host string
	var port int
	var database sql.NullString
	var probe sql.RawBytes
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, connectError(err)
	}
	defer conn.Close()
	err = conn.QueryRowContext(ctx, "SELECT VERSION(), CURRENT_USER(), @@hostname, @@port, DATABASE()").Scan(&s.version, &user, &host, &port, &database)
	if err != nil {
		return nil, connectError(err)
	}
	// The database the connection names is what the Source exports.
	if s.opts.Databases == nil && database.String != "" {
		s.opts.Databases = []string{database.String}
	}
	// parseTime=true would hand the scans time.Time values (database/sql
	// formats them RFC 3339 into RawBytes) instead of the server's text.
	rows, err := conn.QueryContext(ctx, "SELECT CAST('2000-01-01' AS DATETIME)")
	if err != nil {
		return nil, connectError(err)
	}
	for rows.Next() {
		err = rows.Scan(&probe)
		if err == nil && string(probe) != "2000-01-01 00:00:00" {
			err = errors.New("not text")
		}
	}
	rows.Close()
	if err != nil {
		return nil, errors.New("mysqlsource: the connection pool must return the server's text: open it without parseTime=true")
	}
	if strings.Contains(strings.ToLower(s.version), "mariadb") {
		s.engine = typemap.EngineMariaDB
	} else {
		s.engine = typemap.EngineMySQL
	}
	s.major, s.minor = parseVersion(s.version)
	s.user = quoteAccount(user)
	s.identity = s.opts.Identity
	if s.identity == "" {
		name, _, _ := strings.Cut(user, "@")
		s.identity = (&url.URL{Scheme: s.engine, User: url.User(name), Host: net.JoinHostPort(host, strconv.Itoa(port)), Path: "/"}).String()
	}
	return s, nil
}

// Engine is "mariadb" or "mysql", from the server's version string.
func (s *Source) Engine() string { return s.engine }

// Identity is the URL without password (see [Options.Identity]).
func (s *Source) Identity() string { return s.identity }

// ServerVersion is the server's VERSION().
func (s *Source) ServerVersion() string { return s.version }

// Close closes the connection pool if the source opened it.
func (s *Source) Close() error {
	if s.ownsDB {
		return s.db.Close()
	}
	return nil
}

func (s *Source) isMySQL(major, minor int) bool {
	return s.engine == typemap.EngineMySQL && (s.major > major || (s.major == major && s.minor >= minor))
}

// urlOptions are the URL parameters the driver handles itself.
type urlOptions struct {
	NoLock          bool
	LockWaitTimeout time.Duration
}

// driverParams are the go-sql-driver/mysql DSN parameters a URL may carry:
// transport, TLS, timeouts and authentication-method switches, none of
// which runs a statement or changes what a session reads. The driver turns
// every parameter it does not know into SET name=value on each new
// connection (a "password" parameter would change the account's password),
// and others it knows change how values come back (parseTime, charset,
// collation, loc, interpolateParams), so nothing else is passed on.
var driverParams = []string{
	"allowCleartextPasswords", "allowFallbackToPlaintext", "allowNativePasswords",
	"compress", "maxAllowedPacket", "readTimeout", "timeout", "tls", "writeTimeout",
}

// ownParams are the parameters this package handles.
var ownParams = []string{"lock", "lock_wait_timeout", "option_file", "socket"}

// allowedParams lists every parameter a URL may carry, for messages.
func allowedParams() string {
	all := append(append([]string(nil), ownParams...), driverParams...)
	sort.Strings(all)
	return strings.Join(all, ", ")
}

// parseURL turns mysql://user:password@host:port/database?params into a
// driver configuration. Only the parameters of the package documentation
// are accepted; any other is refused before anything connects. Errors never
// contain the password or a parameter's value.
func parseURL(rawURL string) (*mysql.Config, string, urlOptions, error) {
	var uo urlOptions
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, "", uo, fmt.Errorf("mysqlsource: invalid URL %q", source.Redact(rawURL))
	}
	if s := strings.ToLower(u.Scheme); s != "mysql" && s != "mariadb" {
		return nil, "", uo, fmt.Errorf("mysqlsource: URL %q: scheme must be mysql or mariadb", source.Redact(rawURL))
	}
	q := u.Query()
	shown := *u // the URL as messages show it: no password, no parameters
	shown.RawQuery = ""
	if u.User != nil {
		shown.User = url.User(u.User.Username())
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(ownParams, k) && !slices.Contains(driverParams, k) {
			return nil, "", uo, fmt.Errorf("mysqlsource: URL %q: parameter %q is not allowed: the source is only read, and the driver would run an unknown parameter as SET %s=... on the server (allowed: %s)",
				shown.String(), k, k, allowedParams())
		}
		if len(q[k]) > 1 {
			return nil, "", uo, fmt.Errorf("mysqlsource: URL %q: parameter %q is given %d times; give it once", shown.String(), k, len(q[k]))
		}
	}
	socket := q.Get("socket")
	q.Del("socket")
	switch l := q.Get("lock"); l {
	case "", "auto", "ftwrl":
	case "none":
		uo.NoLock = true
	default:
		return nil, "", uo, fmt.Errorf("mysqlsource: URL parameter lock=%q: want auto or none", l)
	}
	q.Del("lock")
	if v := q.Get("lock_wait_timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, "", uo, fmt.Errorf("mysqlsource: URL parameter lock_wait_timeout=%q: want a positive duration such as 10s", v)
		}
		uo.LockWaitTimeout = d
	}
	q.Del("lock_wait_timeout")
	optionFile := q.Get("option_file")
	q.Del("option_file")
	// The driver parses its own parameters from a DSN; one without user,
	// password or address keeps secrets out of its errors.
	cfg, err := mysql.ParseDSN("/?" + q.Encode())
	if err != nil {
		return nil, "", uo, fmt.Errorf("mysqlsource: URL %q: %v", shown.String(), err)
	}
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	if err := applySecrets(cfg, u.User, optionFile); err != nil {
		return nil, "", uo, err
	}
	if socket != "" {
		cfg.Net, cfg.Addr = "unix", socket
	} else {
		host, port := u.Hostname(), u.Port()
		if host == "" {
			host = "127.0.0.1"
		}
		if port == "" {
			port = "3306"
		}
		cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(host, port)
	}
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	id := url.URL{Scheme: strings.ToLower(u.Scheme), Host: cfg.Addr, Path: "/" + cfg.DBName}
	if cfg.User != "" {
		id.User = url.User(cfg.User)
	}
	if socket != "" {
		id.Host = u.Host
		id.RawQuery = url.Values{"socket": {socket}}.Encode()
	}
	return cfg, id.String(), uo, nil
}

func configIdentity(c *mysql.Config) string {
	id := url.URL{Scheme: "mysql", User: url.User(c.User), Host: c.Addr, Path: "/" + c.DBName}
	if c.Net == "unix" {
		id.Host = "localhost"
		id.RawQuery = url.Values{"socket": {c.Addr}}.Encode()
	}
	return id.String()
}

// connectError keeps the driver's error reachable (errors.As
// *mysql.MySQLError) under a message that says what failed. The driver's
// errors never include the password.
func connectError(err error) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) && me.Number == 1044 { // ER_DBACCESS_DENIED_ERROR
		return fmt.Errorf("mysqlsource: connect: the account has no privileges on the URL's database (%s: GRANT SELECT ON the database's tables to the account): %w",
			source.ReasonPermissionsDoNotExist, err)
	}
	return fmt.Errorf("mysqlsource: connect: %w", err)
}

// quoteAccount turns CURRENT_USER()'s user@host into 'user'@'host'.
func quoteAccount(u string) string {
	i := strings.LastIndexByte(u, '@')
	if i < 0 {
		return quoteString(u)
	}
	return quoteString(u[:i]) + "@" + quoteString(u[i+1:])
}

func quoteString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// quoteIdent quotes an identifier with backticks, which every sql_mode
// accepts.
func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}

func parseVersion(v string) (major, minor int) {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) >= 2 {
		major, _ = strconv.Atoi(parts[0])
		minor, _ = strconv.Atoi(parts[1])
	}
	return major, minor
}
