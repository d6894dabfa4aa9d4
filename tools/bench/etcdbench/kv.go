package main

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/clientv3"
)

// runKV: C clients, each with its own connection and one request at a time, for the duration:
// put (unique keys of V bytes) or get (linearizable, one key written first). Returns how many
// completed.
func runKV(o options, put bool) int {
	prefix := fmt.Sprintf("/bench/kv%d", time.Now().UnixNano()%1000000)
	value := strings.Repeat("v", o.val)
	read := prefix + "/read"
	var errors counter
	var seq int64
	lat := make([][]float64, o.clients)
	var end time.Time
	start, wait := spawn(o, &errors, func(i int, cli *clientv3.Client) func() {
		if !put && i == 0 {
			if _, err := cli.Put(context.Background(), read, value); err != nil {
				errors.fail("the key to read", err)
				return nil
			}
		}
		return func() {
			for time.Now().Before(end) {
				t0 := time.Now()
				var err error
				if put {
					_, err = cli.Put(context.Background(), fmt.Sprintf("%s/%d", prefix, atomic.AddInt64(&seq, 1)), value)
				} else {
					_, err = cli.Get(context.Background(), read)
				}
				if err != nil {
					errors.fail("request", err)
					continue
				}
				lat[i] = append(lat[i], float64(time.Since(t0).Microseconds())/1000.0)
			}
		}
	})
	var t0 time.Time
	start(func(at time.Time) { t0, end = at, at.Add(o.duration) })
	wait()
	name := "get"
	if put {
		name = "put"
	}
	return result(fmt.Sprintf("etcd-%s-c%d", name, o.clients), lat, time.Since(t0).Seconds(), atomic.LoadInt64(&errors.n))
}
