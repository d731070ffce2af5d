// Go static binary test of the kernel's signals: os/signal delivery of
// SIGUSR1/SIGUSR2 and of a SIGCHLD, a nil dereference turned into a
// recovered panic (the runtime's SIGSEGV handler rewrites the frame), a
// goroutine in a loop without calls preempted asynchronously (SIGURG sent
// by the runtime to the thread running it), and signal.Ignore.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

type node struct{ v int }

func deref(n *node) (v int, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return n.v, nil
}

var sink int

func spin(stop *int32) {
	for i := 0; ; i++ {
		sink += i
		if i%1000000000 == 0 && *stop != 0 {
			return
		}
	}
}

func main() {
	if len(os.Args) > 1 {
		os.Exit(3) // the child started at the end
	}
	pid := syscall.Getpid()

	c := make(chan os.Signal, 4)
	signal.Notify(c, syscall.SIGUSR1, syscall.SIGUSR2)
	syscall.Kill(pid, syscall.SIGUSR1)
	fmt.Println("got", <-c)
	syscall.Kill(pid, syscall.SIGUSR2)
	fmt.Println("got", <-c)

	_, err := deref(nil)
	fmt.Println("recovered:", err)

	// One P: the sleeping main goroutine can only run again if the
	// spinning one is preempted by a signal.
	runtime.GOMAXPROCS(1)
	var stop int32
	go spin(&stop)
	time.Sleep(20 * time.Millisecond)
	fmt.Println("main ran again while a goroutine spun")
	stop = 1
	runtime.GOMAXPROCS(2)

	signal.Ignore(syscall.SIGUSR2)
	syscall.Kill(pid, syscall.SIGUSR2)
	time.Sleep(10 * time.Millisecond)
	select {
	case s := <-c:
		fmt.Println("unexpected", s)
	default:
		fmt.Println("SIGUSR2 ignored")
	}

	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGCHLD)
	attr := &os.ProcAttr{Files: []*os.File{nil, nil, nil}}
	p, err := os.StartProcess(os.Args[0], []string{os.Args[0], "child"}, attr)
	if err != nil {
		fmt.Println("start:", err)
		os.Exit(1)
	}
	st, _ := p.Wait()
	fmt.Println("child exit code", st.ExitCode(), "SIGCHLD", <-ch)
}
