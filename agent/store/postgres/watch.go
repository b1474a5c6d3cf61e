package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tajo/terraform-provider-tajo/agent/backoff"
)

// WatchOptions tune Watch; zero fields take the defaults.
type WatchOptions struct {
	// Backoff paces reconnection after the notification connection drops
	// (default: 200ms doubling to 30s, jittered). Attempts is ignored: the
	// watcher retries until its context ends.
	Backoff backoff.Policy
	// HealthInterval is how long the watcher waits for a notification
	// before it pings the server (default 30s), so that a connection that
	// died without a word is replaced within about this long.
	HealthInterval time.Duration
	// OnError, when set, is told of each failure of the notification
	// connection, for logging. It runs on the watcher's goroutine and must
	// not block.
	OnError func(error)
}

// Defaults of WatchOptions.
var (
	DefaultWatchBackoff   = backoff.Policy{Base: 200 * time.Millisecond, Max: 30 * time.Second}
	DefaultHealthInterval = 30 * time.Second
)

// pingTimeout bounds the health check of an idle notification connection.
const pingTimeout = 5 * time.Second

// WatchRevisions implements store.Watcher with the default WatchOptions.
func (s *Store) WatchRevisions(ctx context.Context) (<-chan int64, error) {
	return s.Watch(ctx, WatchOptions{})
}

// Watch listens on Channel on a connection of its own (not one of the
// pool) and sends each new revision to the returned channel; see
// store.Watcher for the delivery contract. When Watch returns, the
// listener is registered: every write committed afterwards is delivered.
// After the connection drops it reconnects with backoff and then sends
// the current revision when it moved meanwhile, so no write is missed
// for long; polling stays the fallback while it is disconnected.
func (s *Store) Watch(ctx context.Context, opts WatchOptions) (<-chan int64, error) {
	if s.closing.Err() != nil {
		return nil, errClosed
	}
	if opts.Backoff.Base <= 0 {
		opts.Backoff = DefaultWatchBackoff
	}
	if opts.HealthInterval <= 0 {
		opts.HealthInterval = DefaultHealthInterval
	}
	ctx, cancel := context.WithCancel(ctx)
	stopAfter := context.AfterFunc(s.closing, cancel)
	conn, rev, err := s.listen(ctx)
	if err != nil {
		stopAfter()
		cancel()
		return nil, fmt.Errorf("watch store revisions: %w", err)
	}
	w := &watcher{s: s, opts: opts, out: make(chan int64, 1), last: rev}
	s.mu.Lock()
	if s.closing.Err() != nil {
		s.mu.Unlock()
		closeConn(conn)
		stopAfter()
		cancel()
		return nil, errClosed
	}
	s.watches.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.watches.Done()
		defer stopAfter()
		defer cancel()
		defer close(w.out)
		w.run(ctx, conn)
	}()
	return w.out, nil
}

// listen opens a notification connection, subscribes, and reads the
// revision current after subscribing (so nothing falls in between).
func (s *Store) listen(ctx context.Context) (*pgx.Conn, int64, error) {
	cfg := s.cfg.Copy()
	cfg.RuntimeParams["application_name"] = s.cfg.RuntimeParams["application_name"] + "-watch"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, 0, redact(fmt.Errorf("connect: %w", err), s.secrets)
	}
	var rev int64
	_, err = conn.Exec(ctx, "LISTEN "+pgx.Identifier{Channel}.Sanitize())
	if err == nil {
		err = conn.QueryRow(ctx, `SELECT value FROM revision WHERE id = 1`).Scan(&rev)
	}
	if err != nil {
		closeConn(conn)
		return nil, 0, redact(fmt.Errorf("listen: %w", err), s.secrets)
	}
	return conn, rev, nil
}

func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}

type watcher struct {
	s    *Store
	opts WatchOptions
	out  chan int64
	// last is the newest revision known to the reader.
	last int64
}

func (w *watcher) run(ctx context.Context, conn *pgx.Conn) {
	for {
		err := w.receive(ctx, conn)
		closeConn(conn)
		if ctx.Err() != nil {
			return
		}
		w.report(err)
		conn = w.reconnect(ctx)
		if conn == nil {
			return
		}
	}
}

// reconnect retries until it has a listening connection (nil when ctx
// ends first), then catches up on the revision.
func (w *watcher) reconnect(ctx context.Context) *pgx.Conn {
	for attempt := 1; ; attempt++ {
		if backoff.Sleep(ctx, w.opts.Backoff.Delay(attempt)) != nil {
			return nil
		}
		conn, rev, err := w.s.listen(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			w.report(err)
			continue
		}
		w.deliver(rev)
		return conn
	}
}

// receive delivers notifications until the connection fails or ctx ends.
func (w *watcher) receive(ctx context.Context, conn *pgx.Conn) error {
	for {
		wait, cancel := context.WithTimeout(ctx, w.opts.HealthInterval)
		n, err := conn.WaitForNotification(wait)
		cancel()
		switch {
		case err == nil:
			rev, perr := strconv.ParseInt(n.Payload, 10, 64)
			if perr != nil {
				w.report(fmt.Errorf("notification on %s with payload %q is not a revision", Channel, n.Payload))
				continue
			}
			w.deliver(rev)
		case ctx.Err() != nil:
			return ctx.Err()
		case pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded):
			// Quiet for a while: make sure the server is still there.
			if conn.IsClosed() {
				return errors.New("notification connection closed")
			}
			pctx, cancel := context.WithTimeout(ctx, pingTimeout)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return redact(fmt.Errorf("notification connection health check: %w", err), w.s.secrets)
			}
		default:
			return redact(fmt.Errorf("notification connection: %w", err), w.s.secrets)
		}
	}
}

// deliver hands rev to the reader unless it knows it already; a value the
// reader has not taken yet is replaced, so sending never blocks.
func (w *watcher) deliver(rev int64) {
	if rev <= w.last {
		return
	}
	w.last = rev
	for {
		select {
		case w.out <- rev:
			return
		default:
		}
		select {
		case <-w.out:
		default:
		}
	}
}

func (w *watcher) report(err error) {
	if w.opts.OnError != nil && err != nil {
		w.opts.OnError(err)
	}
}
