package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/clientv3"
)

// runTxn: each request a compare (its first key does not exist yet) and 4 puts of unique keys.
// Returns how many completed.
func runTxn(o options) int {
	prefix := fmt.Sprintf("/bench/txn%d", time.Now().UnixNano()%1000000)
	value := strings.Repeat("v", o.val)
	var errors counter
	var seq int64
	lat := make([][]float64, o.clients)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	var end time.Time
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
				if err == nil && !resp.Succeeded {
					err = fmt.Errorf("the compare failed on a fresh key")
				}
				if err != nil {
					errors.fail("txn", err)
					continue
				}
				lat[i] = append(lat[i], float64(time.Since(t0).Microseconds())/1000.0)
			}
		}(i)
	}
	ready.Wait()
	t0 := time.Now()
	end = t0.Add(o.duration)
	close(start)
	done.Wait()
	return result(fmt.Sprintf("etcd-txn-c%d", o.clients), lat, time.Since(t0).Seconds(), atomic.LoadInt64(&errors.n))
}
