// Go static binary test: goroutines spread over OS threads, channels, a
// mutex, timers and tickers, a recovered panic. Deterministic output; the
// exit status is 0 only if every check passed.
package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync"
	"time"
)

func main() {
	runtime.GOMAXPROCS(4) // more Ms than CPUs: goroutines run on several threads
	fail := 0
	check := func(ok bool, what string) {
		if ok {
			fmt.Println("PASS", what)
		} else {
			fmt.Println("FAIL", what)
			fail++
		}
	}

	// Workers on many goroutines, results through a channel.
	var wg sync.WaitGroup
	results := make(chan int, 100)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s := 0
			for j := 0; j <= i*1000; j++ {
				s += j % 7
			}
			results <- s
		}(i)
	}
	wg.Wait()
	close(results)
	var all []int
	for r := range results {
		all = append(all, r)
	}
	sort.Ints(all)
	check(len(all) == 100 && all[0] == 0, "100 goroutines reported through a channel")

	// A mutex under contention.
	var mu sync.Mutex
	counter := 0
	var wg2 sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			for j := 0; j < 10000; j++ {
				mu.Lock()
				counter++
				mu.Unlock()
			}
		}()
	}
	wg2.Wait()
	check(counter == 80000, "mutex-protected counter")

	// Unbuffered ping-pong.
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v + 1
		}
		close(pong)
	}()
	v := 0
	for i := 0; i < 1000; i++ {
		ping <- v
		v = <-pong
	}
	close(ping)
	check(v == 1000, "1000 unbuffered ping-pongs")

	// Timers and a ticker.
	start := time.Now()
	t := time.NewTimer(30 * time.Millisecond)
	<-t.C
	el := time.Since(start)
	check(el >= 30*time.Millisecond && el < 3*time.Second, "timer fires after 30ms")
	tick := time.NewTicker(5 * time.Millisecond)
	n := 0
	for range tick.C {
		n++
		if n == 5 {
			break
		}
	}
	tick.Stop()
	check(n == 5, "ticker ticks 5 times")
	select {
	case <-time.After(10 * time.Millisecond):
		check(true, "select with time.After")
	}

	// A recovered panic.
	msg := func() (m string) {
		defer func() { m = fmt.Sprint(recover()) }()
		var arr []int
		_ = arr[3] // index out of range: a runtime panic
		return "no panic"
	}()
	check(msg == "runtime error: index out of range [3] with length 0", "recovered runtime panic: "+msg)

	if fail > 0 {
		os.Exit(1)
	}
}
