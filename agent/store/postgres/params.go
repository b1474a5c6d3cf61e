package postgres

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults of the settings read from the store URL.
const (
	DefaultMaxConns = 10
	// DefaultMaxIdleConns keeps every connection of the pool open between
	// bursts (connections idle for DefaultMaxConnIdleTime are closed):
	// with fewer, a burst of webhooks, each delivery a commit of its own,
	// closed the connections above the idle cap as they were released and
	// opened new ones for the next burst, a server process each.
	DefaultMaxIdleConns     = DefaultMaxConns
	DefaultMaxConnLifetime  = time.Hour
	DefaultMaxConnIdleTime  = 10 * time.Minute
	DefaultStatementTimeout = 30 * time.Second
	// DefaultConnectTimeout applies when the URL has no connect_timeout.
	DefaultConnectTimeout = 10 * time.Second
	// DefaultApplicationName applies when the URL has no application_name;
	// it names the store's sessions in pg_stat_activity.
	DefaultApplicationName = "tajo"
)

// Options are the settings this backend reads from the store URL's query.
// They are removed from the URL before it reaches pgx: PostgreSQL would
// refuse them as unknown run-time parameters. Every other parameter
// (sslmode, sslrootcert, search_path, application_name, connect_timeout …)
// goes to pgx unchanged.
type Options struct {
	// MaxConns caps open connections of one store handle (pool_max_conns).
	MaxConns int
	// MaxIdleConns caps idle connections kept open (pool_max_idle_conns;
	// MaxConns unless set).
	MaxIdleConns int
	// MaxConnLifetime recycles connections after this long, so that a
	// fail-over or a DNS change is picked up (pool_max_conn_lifetime; 0 is
	// no limit).
	MaxConnLifetime time.Duration
	// MaxConnIdleTime closes connections idle this long
	// (pool_max_conn_idle_time; 0 is no limit).
	MaxConnIdleTime time.Duration
	// StatementTimeout is the server-side limit of one statement
	// (statement_timeout; 0 disables it). It keeps a stuck query or lock
	// wait from hanging the agent.
	StatementTimeout time.Duration
}

// DefaultOptions are the settings of a URL that sets none.
func DefaultOptions() Options {
	return Options{
		MaxConns:         DefaultMaxConns,
		MaxIdleConns:     DefaultMaxIdleConns,
		MaxConnLifetime:  DefaultMaxConnLifetime,
		MaxConnIdleTime:  DefaultMaxConnIdleTime,
		StatementTimeout: DefaultStatementTimeout,
	}
}

// param is one URL query parameter this backend consumes.
type param struct {
	set  func(o *Options, v string) error
	help string
}

var params = map[string]param{
	"pool_max_conns": {help: "a number of connections ≥ 1", set: func(o *Options, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return errBadValue
		}
		o.MaxConns = n
		return nil
	}},
	"pool_max_idle_conns": {help: "a number of connections ≥ 0", set: func(o *Options, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return errBadValue
		}
		o.MaxIdleConns = n
		return nil
	}},
	"pool_max_conn_lifetime": {help: "a duration such as 1h or 30m, 0 for none", set: func(o *Options, v string) (err error) {
		o.MaxConnLifetime, err = parseDuration(v)
		return err
	}},
	"pool_max_conn_idle_time": {help: "a duration such as 10m, 0 for none", set: func(o *Options, v string) (err error) {
		o.MaxConnIdleTime, err = parseDuration(v)
		return err
	}},
	"statement_timeout": {help: "a duration such as 30s or 2min, or milliseconds; 0 disables it", set: func(o *Options, v string) (err error) {
		o.StatementTimeout, err = parseDuration(v)
		return err
	}},
}

var errBadValue = errors.New("bad value")

// parseDuration reads a non-negative duration the way a user may write it
// for PostgreSQL or for Go: "1500" (milliseconds, PostgreSQL's unit for
// timeouts), "30s", "1m30s", "2min", "1d".
func parseDuration(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		return time.Duration(n) * time.Millisecond, nil
	}
	if num, ok := strings.CutSuffix(v, "min"); ok {
		v = num + "m"
	}
	if num, ok := strings.CutSuffix(v, "d"); ok {
		if n, err := strconv.ParseFloat(strings.TrimSpace(num), 64); err == nil && n >= 0 {
			return time.Duration(n * float64(24*time.Hour)), nil
		}
		return 0, errBadValue
	}
	d, err := time.ParseDuration(strings.ReplaceAll(v, " ", ""))
	if err != nil || d < 0 {
		return 0, errBadValue
	}
	return d, nil
}

// splitURL separates the settings of Options from the connection string
// handed to pgx. Parameters it does not consume are kept byte for byte,
// so TLS settings and the like reach pgx exactly as written.
func splitURL(u *url.URL) (string, Options, error) {
	opts := DefaultOptions()
	var keep []string
	seen := map[string]bool{}
	for _, seg := range strings.Split(u.RawQuery, "&") {
		if seg == "" {
			continue
		}
		rawKey, rawVal, _ := strings.Cut(seg, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil {
			return "", opts, fmt.Errorf("store URL query parameter %q is not URL-encoded correctly", rawKey)
		}
		p, ours := params[key]
		if !ours {
			if strings.HasPrefix(key, "pool_") {
				return "", opts, fmt.Errorf("store URL parameter %s is not supported; the PostgreSQL store understands %s", key, paramNames())
			}
			keep = append(keep, seg)
			continue
		}
		if seen[key] {
			return "", opts, fmt.Errorf("store URL parameter %s is given twice; keep one", key)
		}
		seen[key] = true
		val, err := url.QueryUnescape(rawVal)
		if err == nil {
			err = p.set(&opts, val)
		}
		if err != nil {
			return "", opts, fmt.Errorf("store URL parameter %s=%q: want %s", key, rawVal, p.help)
		}
	}
	if opts.MaxIdleConns > opts.MaxConns || !seen["pool_max_idle_conns"] {
		opts.MaxIdleConns = opts.MaxConns
	}
	clean := *u
	clean.RawQuery = strings.Join(keep, "&")
	clean.ForceQuery = false
	return clean.String(), opts, nil
}

func paramNames() string {
	return strings.Join(slices.Sorted(maps.Keys(params)), ", ")
}
