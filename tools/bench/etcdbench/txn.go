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
	var seq int64
	return timedLoop(o, fmt.Sprintf("etcd-txn-c%d", o.clients), func(i int, cli *clientv3.Client, errors *counter) func() error {
		return func() error {
			base := fmt.Sprintf("%s/t%d", prefix, atomic.AddInt64(&seq, 1))
			ops := make([]clientv3.Op, 4)
			for k := 0; k < 4; k++ {
				ops[k] = clientv3.OpPut(fmt.Sprintf("%s/%d", base, k), value)
			}
			resp, err := cli.Txn(context.Background()).
				If(clientv3.Compare(clientv3.CreateRevision(base+"/0"), "=", 0)).
				Then(ops...).Commit()
			if err == nil && !resp.Succeeded {
				err = fmt.Errorf("the compare failed on a fresh key")
			}
			return err
		}
	})
}
