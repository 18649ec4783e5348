//go:build !linux

package mattermost

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
