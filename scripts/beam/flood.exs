# 3d flood: a server whose handle_cast runs :timer.sleep(1), flooded (a) by one process casting
# {:store, i, "data"} as fast as it can for 1 s, (b) by 1000 processes casting once every
# 10 ms for 1 s. Process.info(pid, [:message_queue_len, :memory]) is sampled every 100 ms
# for 1.5 s. Growth: casts sent / flood time (a), queue at the first sample >= 1 s / that time
# (b); memory per queued message at the last sample; drain = (sent - queued) / elapsed.
# elixir flood.exs [--n CLIENTS_B] [--smoke]
Code.require_file("common.exs", __DIR__)

{opts, _} = Bench.args()
secs = if opts[:smoke], do: 0.2, else: 1.0
clients_b = opts[:n] || if(opts[:smoke], do: 50, else: 1000)
flood_ms = round(secs * 1000)
counter = :counters.new(1, [:write_concurrency])

for scenario <- ["a", "b"] do
  :counters.put(counter, 1, 0)
  {:ok, server} = GenServer.start(Bench.Server, true)
  me = self()
  start = System.monotonic_time(:millisecond)
  elapsed = fn -> System.monotonic_time(:millisecond) - start end

  if scenario == "a" do
    spawn(fn ->
      loop = fn loop, i ->
        for j <- i..(i + 1023), do: GenServer.cast(server, {:store, j, "data"})
        if elapsed.() >= flood_ms, do: i + 1024, else: loop.(loop, i + 1024)
      end

      send(me, {:flooded, loop.(loop, 0)})
    end)
  else
    for _ <- 1..clients_b do
      spawn(fn ->
        loop = fn loop, i ->
          Process.sleep(10)

          if elapsed.() < flood_ms do
            GenServer.cast(server, {:store, i, "data"})
            :counters.add(counter, 1, 1)
            loop.(loop, i + 1)
          end
        end

        loop.(loop, 0)
      end)
    end
  end

  every = div(flood_ms, 10)

  samples =
    for k <- 1..15 do
      wait = start + every * k - System.monotonic_time(:millisecond)
      if wait > 0, do: Process.sleep(wait)
      [message_queue_len: q, memory: m] = Process.info(server, [:message_queue_len, :memory])
      {elapsed.(), q, m}
    end

  growth =
    if scenario == "a" do
      receive do
        {:flooded, sent} ->
          :counters.put(counter, 1, sent)
          sent / secs
      end
    else
      {at, q, _} = Enum.find(samples, List.last(samples), fn {t, _, _} -> t >= flood_ms end)
      q / (at / 1000)
    end

  {at, q, mem} = List.last(samples)
  sent = :counters.get(counter, 1)
  Bench.result("flood", "#{scenario}_growth", growth, "msgs/s")
  Bench.result("flood", "#{scenario}_memory_per_msg", mem / max(q, 1), "bytes")
  Bench.result("flood", "#{scenario}_drain", (sent - q) / (at / 1000), "msgs/s")
  Process.exit(server, :kill)
end
