// etcd, built from its server module for the operator's integration tests (Debian's 3.4.23 is
// older than kube-apiserver supports).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
