// peer-sweeper: the benchmark's reference peer (issue #15, "A peer in the benchmark"). One Go
// process that checks the same in-scope rows against the same CP the way a competent team
// would write it without Kafka: a keyset walk of the scope (docs/contracts.md §2) feeding a
// bounded pool of goroutines that share one keep-alive http.Client, with the same fail-safe
// classification (docs/contracts.md §3: only a clean 2xx JSON object whose "state" is a
// configured not-running state is NOT_RUNNING; anything else is UNKNOWN). It flips nothing:
// it is measured on coverage, the time to ask the CP about every in-scope row once.
//
// Settings (environment): DATABASE_URL, CP_URL (required); PEER_CONCURRENCY (512),
// PEER_PAGE (keyset page size, 5000), PEER_SWEEPS (3), PEER_INTERVAL (seconds between sweep
// starts, 0 = back to back), PEER_TIMEOUT (seconds per request, 10),
// PEER_NOT_RUNNING_STATES (terminated,stopped,stopping,shutting-down).
//
// Output: one JSON line per sweep on stdout (started_ms, finished_ms, checked, the verdict
// counts and a coverage curve of [ms since start, checks done] every 100 ms).
package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	_ "github.com/lib/pq"
)

// The scope, word for word from docs/contracts.md §2, walked by id like the producer.
const pageQuery = `SELECT id::text, instance_id FROM workspaces
 WHERE status = 'online' AND instance_id IS NOT NULL AND instance_id <> ''
   AND COALESCE(runtime, '') <> 'external' AND id > $1::uuid
 ORDER BY id LIMIT $2`

const bodyLimit = 64 * 1024

type row struct{ workspaceID, instanceID string }

type liveness int

const (
	running liveness = iota
	notRunning
	unknown
)

type settings struct {
	databaseURL, cpURL string
	concurrency, page  int
	sweeps             int
	interval, timeout  time.Duration
	notRunning         map[string]bool
}

func envInt(name string, fallback int) int {
	if text := os.Getenv(name); text != "" {
		value, err := strconv.Atoi(text)
		if err != nil || value < 0 {
			fail("%s: not a count: %q", name, text)
		}
		return value
	}
	return fallback
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "peer-sweeper: "+format+"\n", args...)
	os.Exit(2)
}

func loadSettings() settings {
	s := settings{
		databaseURL: os.Getenv("DATABASE_URL"),
		cpURL:       strings.TrimRight(os.Getenv("CP_URL"), "/"),
		concurrency: envInt("PEER_CONCURRENCY", 512),
		page:        envInt("PEER_PAGE", 5000),
		sweeps:      envInt("PEER_SWEEPS", 3),
		interval:    time.Duration(envInt("PEER_INTERVAL", 0)) * time.Second,
		timeout:     time.Duration(envInt("PEER_TIMEOUT", 10)) * time.Second,
		notRunning:  map[string]bool{},
	}
	if s.databaseURL == "" || s.cpURL == "" {
		fail("DATABASE_URL and CP_URL are required")
	}
	if s.concurrency < 1 || s.page < 1 {
		fail("PEER_CONCURRENCY and PEER_PAGE must be at least 1")
	}
	states := os.Getenv("PEER_NOT_RUNNING_STATES")
	if states == "" {
		states = "terminated,stopped,stopping,shutting-down"
	}
	for _, state := range strings.Split(states, ",") {
		s.notRunning[strings.TrimSpace(state)] = true
	}
	return s
}

// classify is docs/contracts.md §3: any doubt is UNKNOWN.
func classify(response *http.Response, err error, notRunningStates map[string]bool) liveness {
	if err != nil {
		return unknown
	}
	defer response.Body.Close()
	// The body is read (and the connection kept) whatever the verdict.
	body, readErr := io.ReadAll(io.LimitReader(response.Body, bodyLimit+1))
	if readErr != nil || len(body) > bodyLimit || len(body) == 0 || bytes.IndexByte(body, 0) >= 0 {
		return unknown
	}
	if response.StatusCode < 200 || response.StatusCode > 299 || !isJSON(response.Header.Get("Content-Type")) {
		return unknown
	}
	state, ok := stateOf(body)
	switch {
	case !ok || state == "":
		return unknown
	case state == "running":
		return running
	case notRunningStates[state]:
		return notRunning
	}
	return unknown
}

func isJSON(contentType string) bool {
	media, params, err := mime.ParseMediaType(contentType)
	if err != nil || !(media == "application/json" ||
		(strings.HasPrefix(media, "application/") && strings.HasSuffix(media, "+json"))) {
		return false
	}
	charset, has := params["charset"]
	charset = strings.ToLower(charset)
	return !has || charset == "utf-8" || charset == "utf8" || charset == "us-ascii"
}

// stateOf returns the top-level "state" string of a body that is exactly one JSON object with
// no duplicate key in any object (encoding/json alone would keep the last duplicate), valid
// UTF-8 and no \u0000 (which the C classifier refuses too).
func stateOf(body []byte) (string, bool) {
	if !utf8.Valid(body) || bytes.Contains(body, []byte(`\u0000`)) {
		return "", false
	}
	decoder := json.NewDecoder(bytes.NewReader(body))
	decoder.UseNumber()
	if token, err := decoder.Token(); err != nil || token != json.Delim('{') {
		return "", false
	}
	keys := map[string]bool{}
	state, hasState := "", false
	for decoder.More() {
		token, err := decoder.Token()
		key, isKey := token.(string)
		if err != nil || !isKey || keys[key] {
			return "", false
		}
		keys[key] = true
		text, isString, err := walk(decoder)
		if err != nil {
			return "", false
		}
		if key == "state" {
			hasState = true
			if isString {
				state = text
			}
		}
	}
	if token, err := decoder.Token(); err != nil || token != json.Delim('}') {
		return "", false
	}
	if _, err := decoder.Token(); err != io.EOF {
		return "", false // trailing data
	}
	return state, hasState
}

// walk reads one JSON value, refusing duplicate keys in nested objects.
func walk(decoder *json.Decoder) (string, bool, error) {
	token, err := decoder.Token()
	if err != nil {
		return "", false, err
	}
	switch value := token.(type) {
	case string:
		return value, true, nil
	case json.Delim:
		keys := map[string]bool{}
		for decoder.More() {
			if value == '{' {
				token, err := decoder.Token()
				key, isKey := token.(string)
				if err != nil || !isKey || keys[key] {
					return "", false, errDuplicate
				}
				keys[key] = true
			}
			if _, _, err := walk(decoder); err != nil {
				return "", false, err
			}
		}
		if _, err := decoder.Token(); err != nil {
			return "", false, err
		}
	}
	return "", false, nil
}

var errDuplicate = errors.New("duplicate key")

type counts struct{ running, notRunning, unknown atomic.Int64 }

func newClient(s settings) *http.Client {
	transport := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: s.timeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        s.concurrency * 2,
		MaxIdleConnsPerHost: s.concurrency * 2,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   s.timeout,
		// A redirect is an answer, never a hop (docs/contracts.md §3).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// sweep walks the scope once; the walk runs ahead of the workers by one page.
func sweep(ctx context.Context, db *sql.DB, client *http.Client, s settings) (map[string]any, error) {
	started := time.Now()
	rows := make(chan row, s.page)
	var total counts
	var done atomic.Int64
	var walkErr error
	go func() {
		defer close(rows)
		after := "00000000-0000-0000-0000-000000000000"
		for {
			result, err := db.QueryContext(ctx, pageQuery, after, s.page)
			if err != nil {
				walkErr = err
				return
			}
			n := 0
			for result.Next() {
				var r row
				if err := result.Scan(&r.workspaceID, &r.instanceID); err != nil {
					walkErr = err
					result.Close()
					return
				}
				rows <- r
				after = r.workspaceID
				n++
			}
			result.Close()
			if err := result.Err(); err != nil {
				walkErr = err
				return
			}
			if n < s.page {
				return
			}
		}
	}()
	var curve [][2]int64
	var curveMutex sync.Mutex
	stopCurve := make(chan struct{})
	go func() {
		ticker := time.NewTicker(100 * time.Millisecond)
		defer ticker.Stop()
		for {
			select {
			case <-stopCurve:
				return
			case now := <-ticker.C:
				curveMutex.Lock()
				curve = append(curve, [2]int64{now.Sub(started).Milliseconds(), done.Load()})
				curveMutex.Unlock()
			}
		}
	}()
	var workers sync.WaitGroup
	prefix := s.cpURL + "/cp/workspaces/"
	for i := 0; i < s.concurrency; i++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for r := range rows {
				target := prefix + url.PathEscape(r.workspaceID) + "/status?instance_id=" + url.QueryEscape(r.instanceID)
				request, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
				var verdict liveness = unknown
				if err == nil {
					request.Header.Set("Accept", "application/json")
					request.Header.Set("User-Agent", "peer-sweeper")
					response, err := client.Do(request)
					verdict = classify(response, err, s.notRunning)
				}
				switch verdict {
				case running:
					total.running.Add(1)
				case notRunning:
					total.notRunning.Add(1)
				default:
					total.unknown.Add(1)
				}
				done.Add(1)
			}
		}()
	}
	workers.Wait()
	finished := time.Now()
	close(stopCurve)
	if walkErr != nil {
		return nil, walkErr
	}
	curveMutex.Lock()
	defer curveMutex.Unlock()
	return map[string]any{
		"type": "sweep", "started_ms": started.UnixMilli(), "finished_ms": finished.UnixMilli(),
		"duration_s": finished.Sub(started).Seconds(), "checked": done.Load(),
		"running": total.running.Load(), "not_running": total.notRunning.Load(), "unknown": total.unknown.Load(),
		"concurrency": s.concurrency, "curve": append(curve, [2]int64{finished.Sub(started).Milliseconds(), done.Load()}),
	}, nil
}

func main() {
	s := loadSettings()
	// lib/pq defaults to sslmode=require where libpq prefers TLS but falls back; a URL that
	// says nothing (the benchmark's loopback PostgreSQL) gets libpq's plain-text outcome.
	if !strings.Contains(s.databaseURL, "sslmode=") && os.Getenv("PGSSLMODE") == "" {
		separator := "?"
		if strings.Contains(s.databaseURL, "?") {
			separator = "&"
		}
		s.databaseURL += separator + "sslmode=disable"
	}
	db, err := sql.Open("postgres", s.databaseURL)
	if err != nil {
		fail("database: %v", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(2)
	client := newClient(s)
	encoder := json.NewEncoder(os.Stdout)
	ctx := context.Background()
	for index := 0; index < s.sweeps; index++ {
		began := time.Now()
		line, err := sweep(ctx, db, client, s)
		if err != nil {
			fail("sweep %d: %v", index+1, err)
		}
		line["sweep"] = index + 1
		if err := encoder.Encode(line); err != nil {
			fail("stdout: %v", err)
		}
		if wait := s.interval - time.Since(began); wait > 0 && index+1 < s.sweeps {
			time.Sleep(wait)
		}
	}
}
