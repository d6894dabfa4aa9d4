// etcdlock: etcd's lock recipe (clientv3/concurrency.Mutex) driven the way `cairn-bench
// --workload lock` drives Cairn's, so that tools/bench/locks.sh can put the two side by side:
// C contenders, each with its own connection and session (a lease kept alive), take and release
// one lock in turn for D seconds, doing nothing while they hold it.
//
// Prints, like cairn-bench:
//
//	RESULT etcd-lock-cC-cycle   n=N ops_s=X p50_ms=Y p99_ms=Z ...  (Lock called -> Unlock returned)
//	RESULT etcd-lock-cC-handoff n=N ops_s=X p50_ms=Y p99_ms=Z ...  (a holder begins to release ->
//	                                                                the next holder's Lock returns)
//
// Build (offline, GOPATH mode against Debian's golang-etcd-server-dev), as locks.sh does:
//
//	GOPATH=/tmp/etcdlock-gopath:/usr/share/gocode GO111MODULE=off go build -o /tmp/etcdlock .
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.etcd.io/etcd/clientv3/concurrency"
)

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

func result(label string, ms []float64, seconds float64, errors int64) {
	sort.Float64s(ms)
	max := 0.0
	if len(ms) > 0 {
		max = ms[len(ms)-1]
	}
	fmt.Printf("RESULT %s n=%d ops_s=%.0f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f errors=%d\n",
		label, len(ms), float64(len(ms))/seconds, pct(ms, 0.5), pct(ms, 0.99), pct(ms, 0.999), max, errors)
}

func main() {
	endpoints := flag.String("endpoints", "127.0.0.1:22379,127.0.0.1:22479,127.0.0.1:22579", "comma-separated")
	clients := flag.Int("clients", 1, "contenders")
	duration := flag.Float64("duration", 10, "seconds")
	ttl := flag.Int("ttl", 10, "session ttl in seconds")
	flag.Parse()
	eps := strings.Split(*endpoints, ",")
	prefix := fmt.Sprintf("/bench/lock%d", time.Now().UnixNano()%1000000)

	var released int64 // when the last holder began to release (UnixNano); 0: nobody yet
	var errors int64
	var stop int32
	cycles := make([][]float64, *clients)
	handoffs := make([][]float64, *clients)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < *clients; i++ {
		ready.Add(1)
		done.Add(1)
		go func(i int) {
			defer done.Done()
			// Each contender its own connection, spread over the members.
			rot := append(append([]string{}, eps[i%len(eps):]...), eps[:i%len(eps)]...)
			cli, err := clientv3.New(clientv3.Config{Endpoints: rot[:1], DialTimeout: 5 * time.Second})
			if err != nil {
				fmt.Fprintln(os.Stderr, "etcdlock:", err)
				atomic.AddInt64(&errors, 1)
				ready.Done()
				return
			}
			defer cli.Close()
			s, err := concurrency.NewSession(cli, concurrency.WithTTL(*ttl))
			if err != nil {
				fmt.Fprintln(os.Stderr, "etcdlock:", err)
				atomic.AddInt64(&errors, 1)
				ready.Done()
				return
			}
			defer s.Close()
			m := concurrency.NewMutex(s, prefix)
			ready.Done()
			<-start
			for atomic.LoadInt32(&stop) == 0 {
				t0 := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				err := m.Lock(ctx)
				cancel()
				if err != nil {
					if atomic.LoadInt32(&stop) != 0 {
						break
					}
					fmt.Fprintln(os.Stderr, "etcdlock: lock:", err)
					atomic.AddInt64(&errors, 1)
					continue
				}
				got := time.Now().UnixNano()
				if was := atomic.LoadInt64(&released); was != 0 && atomic.LoadInt32(&stop) == 0 {
					handoffs[i] = append(handoffs[i], float64(got-was)/1e6)
				}
				atomic.StoreInt64(&released, time.Now().UnixNano())
				if err := m.Unlock(context.Background()); err != nil {
					fmt.Fprintln(os.Stderr, "etcdlock: unlock:", err)
					atomic.AddInt64(&errors, 1)
				}
				if atomic.LoadInt32(&stop) == 0 { // only cycles within the measured time
					cycles[i] = append(cycles[i], float64(time.Since(t0).Nanoseconds())/1e6)
				}
			}
		}(i)
	}
	ready.Wait()
	t0 := time.Now()
	close(start)
	time.Sleep(time.Duration(*duration * float64(time.Second)))
	atomic.StoreInt32(&stop, 1)
	seconds := time.Since(t0).Seconds()
	// A contender still waiting for the lock gets it once the others stop: wait for all.
	done.Wait()
	var all, hand []float64
	for i := range cycles {
		all = append(all, cycles[i]...)
		hand = append(hand, handoffs[i]...)
	}
	label := fmt.Sprintf("etcd-lock-c%d", *clients)
	result(label+"-cycle", all, seconds, errors)
	result(label+"-handoff", hand, seconds, errors)
	if errors > 0 {
		os.Exit(2)
	}
}
