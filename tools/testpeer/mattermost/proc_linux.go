package mattermost

import "syscall"

// sysProcAttr has the kernel kill the server when the test process dies, so no server outlives
// an interrupted test run.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
