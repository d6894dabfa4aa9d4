// etcdbench: etcd driven the way cairn-bench drives Cairn, so that the scripts of tools/bench can
// put the two side by side in one run. Workloads:
//
//	lock  etcd's lock recipe (clientv3/concurrency.Mutex): C contenders, each with its own
//	      connection and session (a lease kept alive), take and release one lock in turn for D
//	      seconds, doing nothing while they hold it (tools/bench/locks.sh);
//	txn   C clients, each with its own connection and one request at a time, each request one
//	      transaction of a compare (the first key does not exist yet) and 4 puts of unique keys of
//	      V bytes (tools/bench/txn.sh);
//	put, get  C clients, each with its own connection and one request at a time: puts of unique
//	      keys of V bytes, or linearizable gets of one key (tools/bench/curve.sh, with TLS).
//
// With --cacert, --cert and --key every connection is TLS, with that client certificate.
//
// Clients are spread over the members. Prints, like cairn-bench:
//
//	RESULT etcd-lock-cC-cycle   n=N ops_s=X p50_ms=Y p99_ms=Z ...  (Lock called -> Unlock returned)
//	RESULT etcd-lock-cC-handoff n=N ops_s=X ...  (a holder begins to release -> the next holder's
//	                                              Lock returns)
//	RESULT etcd-txn-cC n=N ops_s=X p50_ms=Y p99_ms=Z p999_ms=W max_ms=M errors=E
//	RESULT etcd-put-cC ... and etcd-get-cC ... (the same fields)
//
// (failed requests counted in errors=), and exits 2 if a workload completed no request at all (a
// broken set-up). Build (offline, GOPATH mode against Debian's
// golang-etcd-server-dev), as tools/bench/cluster.sh's etcd_start does:
//
//	GOPATH=/tmp/gopath:/usr/share/gocode GO111MODULE=off go build -o /tmp/etcdbench .
package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/clientv3"
)

// options are the flags every workload shares.
type options struct {
	eps      []string
	clients  int
	duration time.Duration
	ttl      int // lock: the session's ttl in seconds
	val      int // txn, put: value bytes
	tls      *tls.Config
}

// counter counts failed requests across goroutines.
type counter struct{ n int64 }

func (c *counter) fail(what string, err error) {
	fmt.Fprintln(os.Stderr, "etcdbench:", what+":", err)
	atomic.AddInt64(&c.n, 1)
}

// connect gives client i its own connection, to member i mod members.
func connect(o options, i int) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{Endpoints: []string{o.eps[i%len(o.eps)]}, DialTimeout: 5 * time.Second, TLS: o.tls})
}

// tlsConfig trusts the CA in caFile and presents the client certificate certFile/keyFile.
func tlsConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", caFile)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}, nil
}

// spawn starts o.clients goroutines, each with its own connection. prepare(i, cli) readies
// client i and returns its loop (nil after a failure it has counted). start(at) waits until every
// client is ready, calls at(t0) and then lets every loop run; wait returns when all have ended.
func spawn(o options, errors *counter, prepare func(i int, cli *clientv3.Client) func()) (start func(at func(t0 time.Time)), wait func()) {
	var ready, done sync.WaitGroup
	begin := make(chan struct{})
	for i := 0; i < o.clients; i++ {
		ready.Add(1)
		done.Add(1)
		go func(i int) {
			defer done.Done()
			cli, err := connect(o, i)
			if err != nil {
				errors.fail("connect", err)
				ready.Done()
				return
			}
			defer cli.Close()
			loop := prepare(i, cli)
			ready.Done()
			if loop == nil {
				return
			}
			<-begin
			loop()
		}(i)
	}
	return func(at func(t0 time.Time)) {
		ready.Wait()
		at(time.Now())
		close(begin)
	}, done.Wait
}

// timedLoop runs op on every client, one request at a time, for the duration, and prints the
// RESULT line of their latencies under label; returns how many completed. prepare(i, cli, errors)
// readies client i and returns its op (nil after a failure it has counted).
func timedLoop(o options, label string, prepare func(i int, cli *clientv3.Client, errors *counter) func() error) int {
	var errors counter
	lat := make([][]float64, o.clients)
	var end time.Time
	start, wait := spawn(o, &errors, func(i int, cli *clientv3.Client) func() {
		op := prepare(i, cli, &errors)
		if op == nil {
			return nil
		}
		return func() {
			for time.Now().Before(end) {
				t0 := time.Now()
				if err := op(); err != nil {
					errors.fail(label, err)
					continue
				}
				lat[i] = append(lat[i], float64(time.Since(t0).Microseconds())/1000.0)
			}
		}
	})
	var t0 time.Time
	start(func(at time.Time) { t0, end = at, at.Add(o.duration) })
	wait()
	return result(label, lat, time.Since(t0).Seconds(), atomic.LoadInt64(&errors.n))
}

func pct(d []float64, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	i := int(p*float64(len(d)-1) + 0.5)
	if i >= len(d) {
		i = len(d) - 1
	}
	return d[i]
}

// result prints one RESULT line of latencies (ms) gathered per client; returns how many.
func result(label string, perClient [][]float64, seconds float64, errors int64) int {
	var ms []float64
	for _, l := range perClient {
		ms = append(ms, l...)
	}
	sort.Float64s(ms)
	max := 0.0
	if len(ms) > 0 {
		max = ms[len(ms)-1]
	}
	fmt.Printf("RESULT %s n=%d ops_s=%.0f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f errors=%d\n",
		label, len(ms), float64(len(ms))/seconds, pct(ms, 0.5), pct(ms, 0.99), pct(ms, 0.999), max, errors)
	return len(ms)
}

func main() {
	workload := flag.String("workload", "", "lock, txn, put or get")
	endpoints := flag.String("endpoints", "127.0.0.1:22379,127.0.0.1:22479,127.0.0.1:22579", "comma-separated")
	clients := flag.Int("clients", 1, "concurrent clients (lock: contenders)")
	duration := flag.Float64("duration", 10, "seconds")
	ttl := flag.Int("ttl", 10, "lock: session ttl in seconds")
	val := flag.Int("val", 256, "txn, put: value size in bytes")
	ca := flag.String("cacert", "", "TLS: the CA to trust (with --cert and --key)")
	cert := flag.String("cert", "", "TLS: the client certificate")
	key := flag.String("key", "", "TLS: the client certificate's key")
	flag.Parse()
	o := options{strings.Split(*endpoints, ","), *clients, time.Duration(*duration * float64(time.Second)), *ttl, *val, nil}
	if *ca != "" {
		t, err := tlsConfig(*ca, *cert, *key)
		if err != nil {
			fmt.Fprintln(os.Stderr, "etcdbench: TLS:", err)
			os.Exit(1)
		}
		o.tls = t
	}
	if o.clients < 1 || o.duration <= 0 {
		fmt.Fprintln(os.Stderr, "etcdbench: --clients and --duration must be above 0")
		os.Exit(1)
	}
	var done int
	switch *workload {
	case "lock":
		done = runLock(o)
	case "txn":
		done = runTxn(o)
	case "put", "get":
		done = runKV(o, *workload == "put")
	default:
		fmt.Fprintln(os.Stderr, "etcdbench: --workload must be lock, txn, put or get")
		os.Exit(1)
	}
	if done == 0 {
		os.Exit(2)
	}
}
