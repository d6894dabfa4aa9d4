// etcdtxn: etcd transactions driven the way `cairn-bench --workload txn` drives Cairn's, so that
// tools/bench/txn.sh can put the two side by side: C clients, each with its own connection (spread
// over the members) and one request at a time, for D seconds, each request one transaction of a
// compare (the first key does not exist yet) and 4 puts of unique keys of V bytes.
//
// Prints, like cairn-bench:
//
//	RESULT etcd-txn-cC n=N ops_s=X p50_ms=Y p99_ms=Z p999_ms=W max_ms=M errors=E
//
// Build (offline, GOPATH mode against Debian's golang-etcd-server-dev), as txn.sh does:
//
//	GOPATH=/tmp/etcdtxn-gopath:/usr/share/gocode GO111MODULE=off go build -o /tmp/etcdtxn .
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

func main() {
	endpoints := flag.String("endpoints", "127.0.0.1:22379,127.0.0.1:22479,127.0.0.1:22579", "comma-separated")
	clients := flag.Int("clients", 64, "concurrent clients")
	duration := flag.Float64("duration", 10, "seconds")
	val := flag.Int("val", 256, "value size in bytes")
	flag.Parse()
	eps := strings.Split(*endpoints, ",")
	prefix := fmt.Sprintf("/bench/txn%d", time.Now().UnixNano()%1000000)
	value := strings.Repeat("v", *val)

	var errors int64
	var seq int64
	lat := make([][]float64, *clients)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	var end time.Time
	for i := 0; i < *clients; i++ {
		ready.Add(1)
		done.Add(1)
		go func(i int) {
			defer done.Done()
			cli, err := clientv3.New(clientv3.Config{Endpoints: []string{eps[i%len(eps)]}, DialTimeout: 5 * time.Second})
			if err != nil {
				fmt.Fprintln(os.Stderr, "etcdtxn:", err)
				atomic.AddInt64(&errors, 1)
				ready.Done()
				return
			}
			defer cli.Close()
			ready.Done()
			<-start
			for time.Now().Before(end) {
				n := atomic.AddInt64(&seq, 1)
				base := fmt.Sprintf("%s/t%d", prefix, n)
				ops := make([]clientv3.Op, 4)
				for k := 0; k < 4; k++ {
					ops[k] = clientv3.OpPut(fmt.Sprintf("%s/%d", base, k), value)
				}
				t0 := time.Now()
				resp, err := cli.Txn(context.Background()).
					If(clientv3.Compare(clientv3.CreateRevision(base+"/0"), "=", 0)).
					Then(ops...).Commit()
				if err != nil || !resp.Succeeded {
					atomic.AddInt64(&errors, 1)
					continue
				}
				lat[i] = append(lat[i], float64(time.Since(t0).Microseconds())/1000.0)
			}
		}(i)
	}
	ready.Wait()
	t0 := time.Now()
	end = t0.Add(time.Duration(*duration * float64(time.Second)))
	close(start)
	done.Wait()
	seconds := time.Since(t0).Seconds()
	var all []float64
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Float64s(all)
	max := 0.0
	if len(all) > 0 {
		max = all[len(all)-1]
	}
	fmt.Printf("RESULT etcd-txn-c%d n=%d ops_s=%.0f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f errors=%d\n",
		*clients, len(all), float64(len(all))/seconds, pct(all, 0.5), pct(all, 0.99), pct(all, 0.999), max, errors)
}
