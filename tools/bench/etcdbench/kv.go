package main

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/clientv3"
)

// runKV: puts of unique keys of V bytes, or linearizable gets of one key written first. Returns
// how many completed.
func runKV(o options, put bool) int {
	prefix := fmt.Sprintf("/bench/kv%d", time.Now().UnixNano()%1000000)
	value := strings.Repeat("v", o.val)
	read := prefix + "/read"
	var seq int64
	name := "get"
	if put {
		name = "put"
	}
	return timedLoop(o, fmt.Sprintf("etcd-%s-c%d", name, o.clients), func(i int, cli *clientv3.Client, errors *counter) func() error {
		if !put && i == 0 {
			if _, err := cli.Put(context.Background(), read, value); err != nil {
				errors.fail("the key to read", err)
				return nil
			}
		}
		return func() error {
			var err error
			if put {
				_, err = cli.Put(context.Background(), fmt.Sprintf("%s/%d", prefix, atomic.AddInt64(&seq, 1)), value)
			} else {
				_, err = cli.Get(context.Background(), read)
			}
			return err
		}
	})
}
