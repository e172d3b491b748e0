// hello.go - the Go net/http/fcgi benchmark backend of bench/run.sh.
//
//	GET  /...           200, "Hello, world!\n" (14 bytes)
//	GET  /...?bytes=N   200, N bytes of 'x'
//	POST /...           body read and discarded, small reply with X-Read
//
// net/http/fcgi serves each request in its own goroutine and answers
// FCGI_GET_VALUES with FCGI_MPXS_CONNS=1, so a web server may multiplex.
//
// Usage: hello -s /path.sock [-stats /path.stats]
// On SIGUSR1 it writes "conns=<accepted> open=<open now> reqs=<served>" to
// the stats file: how many connections the web server opened for how many
// requests (keep-alive / multiplexing at work).
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/fcgi"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
)

var conns, open, reqs int64

type countingListener struct{ net.Listener }

type countingConn struct {
	net.Conn
	once sync.Once
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return c, err
	}
	atomic.AddInt64(&conns, 1)
	atomic.AddInt64(&open, 1)
	return &countingConn{Conn: c}, nil
}

func (c *countingConn) Close() error {
	c.once.Do(func() { atomic.AddInt64(&open, -1) })
	return c.Conn.Close()
}

const small = "Hello, world!\n"

var xbuf = make([]byte, 65536)

func handler(w http.ResponseWriter, r *http.Request) {
	got, _ := io.Copy(io.Discard, r.Body)
	atomic.AddInt64(&reqs, 1)
	h := w.Header()
	if s := r.URL.Query().Get("bytes"); s != "" {
		n, _ := strconv.ParseInt(s, 10, 64)
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Length", strconv.FormatInt(n, 10))
		w.WriteHeader(200)
		for n > 0 {
			k := int64(len(xbuf))
			if n < k {
				k = n
			}
			if _, err := w.Write(xbuf[:k]); err != nil {
				return
			}
			n -= k
		}
		return
	}
	h.Set("Content-Type", "text/plain")
	h.Set("Content-Length", strconv.Itoa(len(small)))
	h.Set("X-Read", strconv.FormatInt(got, 10))
	w.WriteHeader(200)
	io.WriteString(w, small)
}

func main() {
	sock := flag.String("s", "", "unix socket path")
	stats := flag.String("stats", "", "file written on SIGUSR1")
	flag.Parse()
	if *sock == "" {
		log.Fatal("usage: hello -s /path.sock [-stats file]")
	}
	for i := range xbuf {
		xbuf[i] = 'x'
	}
	os.Remove(*sock)
	l, err := net.Listen("unix", *sock)
	if err != nil {
		log.Fatal(err)
	}
	os.Chmod(*sock, 0777)
	if *stats != "" {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGUSR1)
		go func() {
			for range ch {
				s := fmt.Sprintf("conns=%d open=%d reqs=%d\n",
					atomic.LoadInt64(&conns), atomic.LoadInt64(&open),
					atomic.LoadInt64(&reqs))
				os.WriteFile(*stats+".tmp", []byte(s), 0644)
				os.Rename(*stats+".tmp", *stats)
			}
		}()
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-term
		l.Close() // removes the socket file
		os.Exit(0)
	}()
	if err := fcgi.Serve(countingListener{l}, http.HandlerFunc(handler)); err != nil {
		log.Print(err)
	}
}
