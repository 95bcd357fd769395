//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package spool

import (
	"errors"
	"os"
	"runtime"
)

func tryLock(*os.File) (bool, error) {
	return false, errors.New("spool: file locking is not supported on " + runtime.GOOS)
}
