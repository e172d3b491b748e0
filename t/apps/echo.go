// FastCGI echo app for the mod_fcgix test suite (Go net/http/fcgi).
//
//	echo-go -l /path/to.sock [-p pidfile] [-s]
//
// Listens on a unix socket (mode 0666) and serves it with fcgi.Serve.
// SIGTERM/SIGINT remove the socket and exit 0.
//
// -s (used by the connection pool tests, t/050..t/054) counts
// connections and requests and answers ?stats with
// "connections=N open=N requests=N inflight=N max_inflight=N
// peers=PID:N,...\n": connections accepted, open now, requests begun,
// requests in the handler now and at most at once (over all connections),
// and connections accepted per server process (SO_PEERCRED).
//
// Query-string contract (shared with fcgix_testapp, echo.pl and echo.php;
// see t/lib/FcgixTest.pm):
//
//	(default)              text/plain, every param as NAME=VALUE\n, sorted
//	digest                 len=<N> md5=<hex>\ncontent_length=<CL or ->\n
//	bytes=N [chunk=K] [delay_ms=M]   N bytes of a..z, octet-stream,
//	                       flushed per chunk
//	status=NNN             Status: NNN Text, body "status NNN\n"
//	location=URL           Location: URL, empty body
//	cookies=N              Set-Cookie: c<i>=v<i>, i = 1..N
//	hdr=NAME: VALUE        that header added (repeatable)
//	headers_then_sleep=MS  "first\n", flush, sleep MS, "last\n"
//	sleep_ms=MS            sleep MS before answering (after the body)
//	stats                  with -s only: the counters above
//
// net/http/fcgi limits what the handler can see and send:
//   - it consumes CONTENT_LENGTH, CONTENT_TYPE, HTTPS, PATH_INFO,
//     QUERY_STRING, REMOTE_ADDR, REMOTE_HOST, REMOTE_PORT, REQUEST_METHOD,
//     REQUEST_URI, SCRIPT_NAME, SERVER_PROTOCOL and HTTP_* into the
//     http.Request; the env listing rebuilds what it can from there
//     (SCRIPT_NAME, PATH_INFO and REMOTE_HOST are lost, REQUEST_URI and
//     QUERY_STRING come from the parsed REQUEST_URI);
//   - it always sends "Status: 200 OK" when no other status was set, so
//     location=URL arrives as Status 200 + Location (mod_cgi semantics:
//     still an internal redirect / 302).
package main

import (
	"crypto/md5"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/fcgi"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const alphabet = "abcdefghijklmnopqrstuvwxyz"

// Counters of -s.
var (
	counting    bool
	nConns      int64
	nOpen       int64
	nRequests   int64
	nInflight   int64
	maxInflight int64
	peersMu     sync.Mutex
	peers       = map[int32]int64{}
)

type countingListener struct{ net.Listener }

type countedConn struct {
	net.Conn
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { atomic.AddInt64(&nOpen, -1) })
	return c.Conn.Close()
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return c, err
	}
	atomic.AddInt64(&nConns, 1)
	atomic.AddInt64(&nOpen, 1)
	var pid int32
	if uc, ok := c.(*net.UnixConn); ok {
		if raw, err := uc.SyscallConn(); err == nil {
			raw.Control(func(fd uintptr) {
				cr, err := syscall.GetsockoptUcred(int(fd),
					syscall.SOL_SOCKET, syscall.SO_PEERCRED)
				if err == nil {
					pid = cr.Pid
				}
			})
		}
	}
	peersMu.Lock()
	peers[pid]++
	peersMu.Unlock()
	return &countedConn{Conn: c}, nil
}

func statsLine() string {
	peersMu.Lock()
	ps := make([]string, 0, len(peers))
	for pid, n := range peers {
		ps = append(ps, fmt.Sprintf("%d:%d", pid, n))
	}
	peersMu.Unlock()
	sort.Strings(ps)
	return fmt.Sprintf("connections=%d open=%d requests=%d inflight=%d "+
		"max_inflight=%d peers=%s\n", atomic.LoadInt64(&nConns),
		atomic.LoadInt64(&nOpen), atomic.LoadInt64(&nRequests),
		atomic.LoadInt64(&nInflight), atomic.LoadInt64(&maxInflight),
		strings.Join(ps, ","))
}

func handler(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	has := func(k string) bool { _, ok := q[k]; return ok }
	num := func(k string) int64 {
		n, _ := strconv.ParseInt(q.Get(k), 10, 64)
		return n
	}
	if counting {
		atomic.AddInt64(&nRequests, 1)
		cur := atomic.AddInt64(&nInflight, 1)
		defer atomic.AddInt64(&nInflight, -1)
		for {
			m := atomic.LoadInt64(&maxInflight)
			if cur <= m || atomic.CompareAndSwapInt64(&maxInflight, m, cur) {
				break
			}
		}
	}

	// The whole request body first.
	h := md5.New()
	n, _ := io.Copy(h, r.Body)
	if ms := num("sleep_ms"); ms > 0 {
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}

	hd := w.Header()
	octet := !has("digest") && has("bytes")
	if octet {
		hd.Set("Content-Type", "application/octet-stream")
	} else {
		hd.Set("Content-Type", "text/plain")
	}
	if has("location") {
		hd.Set("Location", q.Get("location"))
	}
	for i := int64(1); i <= num("cookies"); i++ {
		hd.Add("Set-Cookie", fmt.Sprintf("c%d=v%d", i, i))
	}
	for _, line := range q["hdr"] {
		if k, v, ok := strings.Cut(line, ":"); ok {
			hd.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	code := http.StatusOK
	if has("status") {
		code = int(num("status"))
	}
	w.WriteHeader(code)
	fl, _ := w.(http.Flusher)

	switch {
	case counting && has("stats"):
		io.WriteString(w, statsLine())
	case has("digest"):
		cl := "-"
		if r.ContentLength > 0 {
			cl = strconv.FormatInt(r.ContentLength, 10)
		}
		fmt.Fprintf(w, "len=%d md5=%s\ncontent_length=%s\n", n,
			hex.EncodeToString(h.Sum(nil)), cl)
	case has("bytes"):
		total := num("bytes")
		chunk := num("chunk")
		if chunk <= 0 {
			chunk = 65536
		}
		delay := time.Duration(num("delay_ms")) * time.Millisecond
		first := chunk
		if total < first {
			first = total
		}
		pat := []byte(strings.Repeat(alphabet, int(first/26)+2))
		for off := int64(0); off < total; {
			k := total - off
			if k > chunk {
				k = chunk
			}
			s := off % 26
			if _, err := w.Write(pat[s : s+k]); err != nil {
				return
			}
			off += k
			fl.Flush()
			if delay > 0 && off < total {
				time.Sleep(delay)
			}
		}
	case has("headers_then_sleep"):
		io.WriteString(w, "first\n")
		fl.Flush()
		time.Sleep(time.Duration(num("headers_then_sleep")) * time.Millisecond)
		io.WriteString(w, "last\n")
	case has("status"):
		fmt.Fprintf(w, "status %d\n", code)
	case has("location"):
		// empty body
	default:
		io.WriteString(w, envListing(r))
	}
}

// envListing rebuilds the FastCGI params as far as net/http/fcgi keeps them.
func envListing(r *http.Request) string {
	env := map[string]string{}
	for k, v := range fcgi.ProcessEnv(r) {
		env[k] = v
	}
	env["REQUEST_METHOD"] = r.Method
	env["SERVER_PROTOCOL"] = r.Proto
	env["REQUEST_URI"] = r.URL.RequestURI()
	env["QUERY_STRING"] = r.URL.RawQuery
	if host, port, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		env["REMOTE_ADDR"] = host
		env["REMOTE_PORT"] = port
	}
	if r.TLS != nil {
		env["HTTPS"] = "on"
	}
	if r.ContentLength > 0 {
		env["CONTENT_LENGTH"] = strconv.FormatInt(r.ContentLength, 10)
	}
	if r.Host != "" {
		env["HTTP_HOST"] = r.Host
	}
	for k, vs := range r.Header {
		name := strings.ToUpper(strings.ReplaceAll(k, "-", "_"))
		if name == "CONTENT_TYPE" {
			env[name] = strings.Join(vs, ", ")
			continue
		}
		env["HTTP_"+name] = strings.Join(vs, ", ")
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + env[k] + "\n")
	}
	return b.String()
}

func main() {
	path := flag.String("l", "", "unix socket path")
	pidfile := flag.String("p", "", "pid file")
	flag.BoolVar(&counting, "s", false, "count connections, answer ?stats")
	flag.Parse()
	if *path == "" {
		fmt.Fprintln(os.Stderr, "usage: echo-go -l /path/to.sock [-p pidfile]")
		os.Exit(2)
	}
	syscall.Umask(0)
	os.Remove(*path)
	ln, err := net.Listen("unix", *path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Chmod(*path, 0666)
	if *pidfile != "" {
		tmp := *pidfile + ".tmp"
		os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())+"\n"), 0644)
		os.Rename(tmp, *pidfile)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		ln.Close()
		os.Remove(*path)
		os.Exit(0)
	}()
	var l net.Listener = ln
	if counting {
		l = countingListener{ln}
	}
	if err := fcgi.Serve(l, http.HandlerFunc(handler)); err != nil {
		select {} // closed by the signal handler, which exits
	}
}
