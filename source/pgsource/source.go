package pgsource

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/typemap"
)

// Options tune a [Source]. The zero value (and nil) is the default.
type Options struct {
	// Databases restricts the Source to these databases of the server. Nil
	// means every database the role may CONNECT to, except templates (what
	// RDS exports); [source.SnapshotOptions.Databases] narrows further.
	Databases []string
	// LockTimeout bounds how long [Snapshot.Tables] waits for the ACCESS
	// SHARE lock it takes on every listed table (pg_dump's
	// --lock-wait-timeout). Zero waits as long as the context allows.
	LockTimeout time.Duration
}

// minServerVersion is PostgreSQL 11: pg_index.indnkeyatts, which key
// detection reads, appeared there.
const minServerVersion = 110000

// defaultMaxConns is the pool size of sources opened from a URL without
// pool_max_conns: every worker holds one connection and every snapshotted
// database one more, and pgx's default (4 on small machines) would make
// workers queue. Connections are opened only when needed.
const defaultMaxConns = 32

// Source reads a PostgreSQL server. It is safe for concurrent use.
type Source struct {
	base     *pgxpool.Config // template of the per-database pools
	identity string
	opts     Options
	version  int    // server_version_num
	user     string // current_user, quoted, for GRANT hints
	// lockCapacity replaces the server's lock table size in the check
	// before locking (tests; 0: the server's).
	lockCapacity int64
	// scanSlots holds one token per connection a scan holds (maxScanConns).
	scanSlots chan struct{}

	mu        sync.Mutex
	pools     map[string]*pgxpool.Pool
	owned     map[*pgxpool.Pool]bool // pools this Source created and closes
	snapshots map[*Snapshot]bool
	closed    bool
}

var _ source.Source = (*Source)(nil)

// Scheme and SchemeLong are the URL schemes the driver registers.
const (
	Scheme     = "postgres"
	SchemeLong = "postgresql"
)

func init() {
	open := func(ctx context.Context, u *url.URL) (source.Source, error) {
		raw := u.String()
		if rest, ok := strings.CutPrefix(raw, u.Scheme+":"); ok && !strings.HasPrefix(rest, "//") {
			raw = u.Scheme + "://" + rest // postgres:// (all from the environment) prints as postgres:
		}
		return OpenURL(ctx, raw, nil)
	}
	source.Register(Scheme, open)
	source.Register(SchemeLong, open)
}

// OpenURL opens the server a postgres:// or postgresql:// URL, or a libpq
// key/value string ("host=... user=... dbname=..."), names, with pgx's
// connection-string rules: the password may come from the URL, PGPASSWORD,
// a passfile (~/.pgpass) or a service (PGSERVICE). Only the parameters of
// the package documentation are accepted. The database the settings name
// is what the Source exports; settings that name none export every
// database of the server, connecting first to "postgres".
func OpenURL(ctx context.Context, rawURL string, opts *Options) (*Source, error) {
	cs, err := parseConnString(rawURL)
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		// pgx redacts the password in its message.
		return nil, fmt.Errorf("pgsource: invalid URL %q: %w", source.Redact(rawURL), err)
	}
	if err := checkRuntimeParams(cfg); err != nil {
		return nil, err
	}
	if !slices.Contains(cs.keys, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns
	}
	return openConfig(ctx, cfg, identityFromURL(rawURL, cfg), opts)
}

// OpenConfig opens the server cfg connects to. The Source creates and closes
// its own pools from copies of cfg (one per database it reads). As for a
// URL, cfg's database is what the Source exports, every database when it
// names none.
func OpenConfig(ctx context.Context, cfg *pgxpool.Config, opts *Options) (*Source, error) {
	return openConfig(ctx, cfg.Copy(), identityFromConfig(cfg), opts)
}

// allServersFirstDatabase is the database a Source that exports the whole
// server connects to first, as pg_dumpall does.
const allServersFirstDatabase = "postgres"

func openConfig(ctx context.Context, cfg *pgxpool.Config, identity string, opts *Options) (*Source, error) {
	// Always UTF8, whatever the URL or PGCLIENTENCODING say: Parquet
	// strings are UTF-8, and the server converts from the database's
	// encoding (LATIN1...) when asked to.
	cfg.ConnConfig.RuntimeParams["client_encoding"] = "UTF8"
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "snapexport"
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["options"]; ok {
		return nil, fmt.Errorf("pgsource: connect to %q: the run-time parameter \"options\" is not allowed: the source is only read and its sessions use this package's settings", identity)
	}
	// Every session is read-only from its start; transactions are READ ONLY
	// besides.
	cfg.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	o := scoped(opts, cfg.ConnConfig.Database)
	if cfg.ConnConfig.Database == "" {
		cfg.ConnConfig.Database = allServersFirstDatabase
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, source.RedactError(fmt.Errorf("pgsource: connect to %q: %w", identity, err), cfg.ConnConfig.Password)
	}
	s, err := newSource(ctx, pool, cfg, identity, o)
	if err != nil {
		pool.Close()
		return nil, source.RedactError(err, cfg.ConnConfig.Password)
	}
	s.owned[pool] = true
	return s, nil
}

// scoped returns opts with Databases narrowed to the database the
// connection settings name, unless the caller narrowed them already.
func scoped(opts *Options, database string) *Options {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Databases == nil && database != "" {
		o.Databases = []string{database}
	}
	return &o
}

// Open reads the server pool connects to. The pool stays the caller's: the
// Source does not close it, and opens pools of its own (copies of the pool's
// config) only for other databases on the server. The pool's MaxConns bounds
// how many scans of its database run at once.
func Open(ctx context.Context, pool *pgxpool.Pool, opts *Options) (*Source, error) {
	cfg := pool.Config()
	return newSource(ctx, pool, cfg, identityFromConfig(cfg), scoped(opts, cfg.ConnConfig.Database))
}

func newSource(ctx context.Context, pool *pgxpool.Pool, cfg *pgxpool.Config, identity string, opts *Options) (*Source, error) {
	s := &Source{
		base:      cfg,
		identity:  identity,
		pools:     map[string]*pgxpool.Pool{cfg.ConnConfig.Database: pool},
		owned:     map[*pgxpool.Pool]bool{},
		snapshots: map[*Snapshot]bool{},
		scanSlots: make(chan struct{}, maxScanConns),
	}
	if opts != nil {
		s.opts = *opts
	}
	var version string
	err := pool.QueryRow(ctx, "SELECT current_setting('server_version_num'), quote_ident(current_user)").Scan(&version, &s.user)
	if err != nil {
		return nil, fmt.Errorf("pgsource: connect to %q: %w", identity, err)
	}
	s.version, _ = strconv.Atoi(version)
	if s.version < minServerVersion {
		return nil, fmt.Errorf("pgsource: %q runs PostgreSQL %s; version 11 or later is required", identity, version)
	}
	return s, nil
}

// Engine reports "postgres".
func (s *Source) Engine() string { return typemap.EnginePostgres }

// Identity is the source's URL without its password.
func (s *Source) Identity() string { return s.identity }

// pool returns the pool of one database, creating it from the base config.
func (s *Source) pool(ctx context.Context, database string) (*pgxpool.Pool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("pgsource: source is closed")
	}
	if p, ok := s.pools[database]; ok {
		return p, nil
	}
	cfg := s.base.Copy()
	cfg.ConnConfig.Database = database
	p, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgsource: connect to database %q: %w", database, err)
	}
	s.pools[database] = p
	s.owned[p] = true
	return p, nil
}

// Close ends any snapshot still open and closes the pools the Source
// created. It waits for scans still holding connections to close.
func (s *Source) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	snaps := make([]*Snapshot, 0, len(s.snapshots))
	for sn := range s.snapshots {
		snaps = append(snaps, sn)
	}
	s.mu.Unlock()
	var errs []error
	for _, sn := range snaps {
		errs = append(errs, sn.Close())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for p := range s.owned {
		p.Close()
	}
	return errors.Join(errs...)
}

// resetPools closes the idle connections the Source opened to the
// snapshot's databases other than its own, once no snapshot uses them: a
// lingering idle connection would make DROP DATABASE fail, and a server
// with many databases would keep one pool's worth open per database.
func (s *Source) resetPools(done *Snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inUse := map[string]bool{s.base.ConnConfig.Database: true}
	for sn := range s.snapshots {
		for db := range sn.dbs {
			inUse[db] = true
		}
	}
	for db := range done.dbs {
		if p := s.pools[db]; p != nil && s.owned[p] && !inUse[db] {
			p.Reset()
		}
	}
}

func (s *Source) forget(sn *Snapshot) {
	s.mu.Lock()
	delete(s.snapshots, sn)
	s.mu.Unlock()
}

// identityFromURL drops the password from the user info and from the
// query parameters that carry secrets. A keyword/value connection string
// ("host=... password=...") is described from its parsed config instead.
func identityFromURL(rawURL string, cfg *pgxpool.Config) string {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		// Key/value strings, and URLs that take the server from the
		// environment or a service: described from what pgx resolved.
		return identityFromConfig(cfg)
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	if strings.TrimPrefix(u.Path, "/") == "" && u.Query().Get("dbname") == "" && cfg.ConnConfig.Database != "" {
		u.Path = "/" + cfg.ConnConfig.Database // named by PGDATABASE or a service
	}
	q := u.Query()
	changed := false
	for k := range q {
		switch strings.ToLower(k) {
		case "password", "sslpassword":
			q.Del(k)
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

func identityFromConfig(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	u := url.URL{
		Scheme: "postgres",
		User:   url.User(c.User),
		Host:   c.Host + ":" + strconv.Itoa(int(c.Port)),
		Path:   "/" + c.Database,
	}
	if strings.HasPrefix(c.Host, "/") { // a Unix socket directory
		u.Host = ""
		u.RawQuery = url.Values{"host": {c.Host}, "port": {strconv.Itoa(int(c.Port))}}.Encode()
	}
	return u.String()
}
