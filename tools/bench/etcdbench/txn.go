package main

import (
	"context"
	"fmt"
	"strings"
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
	var end time.Time
	start, wait := spawn(o, &errors, func(i int, cli *clientv3.Client) func() {
		return func() {
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
		}
	})
	var t0 time.Time
	start(func(at time.Time) { t0, end = at, at.Add(o.duration) })
	wait()
	return result(fmt.Sprintf("etcd-txn-c%d", o.clients), lat, time.Since(t0).Seconds(), atomic.LoadInt64(&errors.n))
}
