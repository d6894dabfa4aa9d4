package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.etcd.io/etcd/clientv3/concurrency"
)

// runLock: contenders take and release one concurrency.Mutex in turn. Returns the cycles completed.
func runLock(o options) int {
	prefix := fmt.Sprintf("/bench/lock%d", time.Now().UnixNano()%1000000)
	var released int64 // when the last holder began to release (UnixNano); 0: nobody yet
	var errors counter
	var stop int32
	cycles := make([][]float64, o.clients)
	handoffs := make([][]float64, o.clients)
	start, wait := spawn(o, &errors, func(i int, cli *clientv3.Client) func() {
		s, err := concurrency.NewSession(cli, concurrency.WithTTL(o.ttl))
		if err != nil {
			errors.fail("session", err)
			return nil
		}
		m := concurrency.NewMutex(s, prefix)
		return func() {
			defer s.Close()
			for atomic.LoadInt32(&stop) == 0 {
				t0 := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				err := m.Lock(ctx)
				cancel()
				if err != nil {
					if atomic.LoadInt32(&stop) != 0 {
						break
					}
					errors.fail("lock", err)
					continue
				}
				got := time.Now().UnixNano()
				if was := atomic.LoadInt64(&released); was != 0 && atomic.LoadInt32(&stop) == 0 {
					handoffs[i] = append(handoffs[i], float64(got-was)/1e6)
				}
				atomic.StoreInt64(&released, time.Now().UnixNano())
				if err := m.Unlock(context.Background()); err != nil {
					errors.fail("unlock", err)
				}
				if atomic.LoadInt32(&stop) == 0 { // only cycles within the measured time
					cycles[i] = append(cycles[i], float64(time.Since(t0).Nanoseconds())/1e6)
				}
			}
		}
	})
	var t0 time.Time
	start(func(at time.Time) { t0 = at })
	time.Sleep(o.duration)
	atomic.StoreInt32(&stop, 1)
	seconds := time.Since(t0).Seconds()
	// A contender still waiting for the lock gets it once the others stop: wait for all.
	wait()
	label := fmt.Sprintf("etcd-lock-c%d", o.clients)
	n := atomic.LoadInt64(&errors.n)
	completed := result(label+"-cycle", cycles, seconds, n)
	result(label+"-handoff", handoffs, seconds, n)
	return completed
}
