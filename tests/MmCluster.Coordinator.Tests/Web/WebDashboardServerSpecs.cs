using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using MmCluster.Coordinator.Progress;
using MmCluster.Coordinator.Tests.Progress;
using MmCluster.Coordinator.Web;
using MmCluster.Shared.Grpc.Dashboard;
using Xunit;
using Xunit.Abstractions;
using HistoryPoint = MmCluster.Shared.Runs.HistoryPoint;
using MetricsJsonlWriter = MmCluster.Shared.Runs.MetricsJsonlWriter;
using WorkerHistoryPoint = MmCluster.Shared.Runs.WorkerHistoryPoint;

namespace MmCluster.Coordinator.Tests.Web;

/// <summary>The web dashboard on a real Kestrel HTTP/1.1 endpoint on loopback, called by HttpClient as a browser would.</summary>
public sealed class WebDashboardServerSpecs(ITestOutputHelper output)
{
    private const string Token = "s3cret";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    /// <summary>The default limit of training points, plus the evaluations kept beside them.</summary>
    private const int DashboardHistoryLimit = MmCluster.Coordinator.Services.DashboardHistory.DefaultMaxPoints + 20;

    private static Task<WebDashboardServer> StartAsync(IRunProgressSource source, string? token = Token, string? runDirectory = null) =>
        WebDashboardServer.StartAsync(new WebDashboardOptions
        {
            Address = IPAddress.Loopback,
            Port = 0,
            Token = token,
            RunDirectory = runDirectory,
            CoalesceInterval = TimeSpan.FromMilliseconds(20),
        }, source);

    private static HttpClient Client(WebDashboardServer server) => new()
    {
        BaseAddress = server.Address,
        DefaultRequestVersion = HttpVersion.Version11,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = Timeout,
    };

    [Fact]
    public async Task Should_serve_the_page_and_its_config_without_the_token_when_a_token_is_configured()
    {
        await using var server = await StartAsync(new RunProgressHub(RunSnapshots.Pending()));
        using var client = Client(server);

        using var page = await client.GetAsync("/");
        using var script = await client.GetAsync("/app.js");
        using var style = await client.GetAsync("/app.css");
        var config = await client.GetStringAsync("/api/config");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal(HttpVersion.Version11, page.Version);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        Assert.Contains("<html", await page.Content.ReadAsStringAsync());
        Assert.True(page.Headers.CacheControl!.NoCache);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType!.MediaType);
        Assert.Equal("text/css", style.Content.Headers.ContentType!.MediaType);
        Assert.Equal("""{"tokenRequired":true,"mode":"live"}""", config);
        Assert.Equal("127.0.0.1", server.Address.Host);
    }

    [Fact]
    public async Task Should_refuse_api_calls_without_the_token_and_answer_them_with_the_header_or_the_query_when_a_token_is_configured()
    {
        await using var server = await StartAsync(new RunProgressHub(RunSnapshots.Running(20)));
        using var client = Client(server);

        using var none = await client.GetAsync("/api/snapshot");
        using var wrong = await client.GetAsync("/api/snapshot?token=guess");
        using var file = await client.GetAsync("/files/summary.json");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/snapshot") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", Token) } };
        using var header = await client.SendAsync(request);
        var query = RunSnapshot.Parser.ParseJson(await client.GetStringAsync($"/api/snapshot?token={Token}"));

        Assert.Equal((HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized), (none.StatusCode, wrong.StatusCode, file.StatusCode));
        using var refusal = JsonDocument.Parse(await none.Content.ReadAsStringAsync());
        Assert.Contains("token", refusal.RootElement.GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.OK, header.StatusCode);
        var json = await header.Content.ReadAsStringAsync();
        Assert.Contains("\"state\": \"RUN_STATE_RUNNING\"", json);
        Assert.Contains("\"step\": \"20\"", json);
        Assert.Equal((RunState.Running, 20L, 2), (query.State, query.Step, query.Workers.Count));
    }

    [Fact]
    public async Task Should_stream_the_current_snapshot_then_a_published_one_with_its_new_points_and_end_when_the_run_finishes()
    {
        var hub = new RunProgressHub(RunSnapshots.Pending());
        hub.Record(new HistoryPoint { Stage = "clip", Step = 1 });
        await using var server = await StartAsync(hub);
        using var client = Client(server);
        using var timeout = new CancellationTokenSource(Timeout);
        using var response = await client.GetAsync($"/api/stream?token={Token}", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        using var events = new EventStreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));

        var first = await events.NextAsync(timeout.Token);
        Assert.Equal("snapshot", first!.Value.Event);
        Assert.Equal(RunState.Pending, RunSnapshot.Parser.ParseJson(first.Value.Data).State);

        hub.Record(new HistoryPoint { Stage = "clip", Step = 20, Workers = [new WorkerHistoryPoint { WorkerId = "w0", Step = 20, StepMs = 120 }] });
        hub.Publish(RunSnapshots.Running(20));
        var running = await events.NextAsync("snapshot", data => RunSnapshot.Parser.ParseJson(data).Step == 20, timeout.Token);
        var next = await events.NextAsync(timeout.Token);
        Assert.Equal("points", next!.Value.Event);
        var points = GetHistoryReply.Parser.ParseJson(next.Value.Data);
        Assert.Equal([20L], points.Points.Select(p => p.Step));
        Assert.Equal(120, Assert.Single(points.WorkerPoints).StepTimeMs);
        Assert.Equal("2", next.Value.Id);

        hub.Publish(RunSnapshots.Finished());
        await events.NextAsync("snapshot", data => RunSnapshot.Parser.ParseJson(data).State == RunState.Succeeded, timeout.Token);
        Assert.Null(await events.NextAsync(timeout.Token));
        Assert.Contains("RUN_STATE_RUNNING", running);
    }

    [Fact]
    public async Task Should_send_heartbeats_and_the_points_since_a_position_when_the_stream_is_resumed()
    {
        var hub = new RunProgressHub(RunSnapshots.Running(3));
        for (var step = 1; step <= 3; step++)
        {
            hub.Record(new HistoryPoint { Stage = "clip", Step = step });
        }
        await using var server = await WebDashboardServer.StartAsync(new WebDashboardOptions
        {
            Address = IPAddress.Loopback,
            Port = 0,
            HeartbeatInterval = TimeSpan.FromMilliseconds(50),
        }, hub);
        using var client = Client(server);
        using var timeout = new CancellationTokenSource(Timeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/stream") { Headers = { { "Last-Event-ID", "1" } } };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        using var events = new EventStreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));

        var snapshot = await events.NextAsync(timeout.Token);
        var points = await events.NextAsync(timeout.Token);
        var heartbeat = await events.NextAsync(timeout.Token);

        Assert.Equal("snapshot", snapshot!.Value.Event);
        Assert.Equal([2L, 3L], GetHistoryReply.Parser.ParseJson(points!.Value.Data).Points.Select(p => p.Step));
        Assert.Equal(("comment", "heartbeat"), (heartbeat!.Value.Event, heartbeat.Value.Data));
    }

    [Fact]
    public async Task Should_downsample_training_points_and_keep_every_evaluation_and_both_ends_when_100000_points_are_recorded()
    {
        var hub = new RunProgressHub(RunSnapshots.Running(100_000), maxHistoryPoints: 200_000);
        for (var step = 1; step <= 100_000; step++)
        {
            hub.Record(new HistoryPoint
            {
                Stage = "clip",
                Step = step,
                Losses = new Dictionary<string, double> { ["loss"] = 3.0 / Math.Sqrt(step) + (step % 7) * 0.01, ["itc"] = 1.0 },
                Lr = 1e-3,
                Eval = step % 5000 == 0 ? new Dictionary<string, double> { ["zero_shot_top1"] = step / 1e5 } : null,
                Workers = [new WorkerHistoryPoint { WorkerId = "w0", Step = step, StepMs = 100 }, new WorkerHistoryPoint { WorkerId = "w1", Rank = 1, Step = step, StepMs = 110 }],
            });
        }
        await using var server = await StartAsync(hub, token: null);
        using var client = Client(server);

        var timer = Stopwatch.StartNew();
        var json = await client.GetStringAsync("/api/history?maxPoints=2000&stage=clip");
        output.WriteLine($"100,000 points -> {json.Length / 1024} KiB of JSON in {timer.ElapsedMilliseconds} ms (first call, cold)");
        timer.Restart();
        json = await client.GetStringAsync("/api/history?maxPoints=2000&stage=clip");
        output.WriteLine($"again in {timer.ElapsedMilliseconds} ms");
        var reply = GetHistoryReply.Parser.ParseJson(json);
        var fallback = GetHistoryReply.Parser.ParseJson(await client.GetStringAsync("/api/history"));
        using var bad = await client.GetAsync("/api/history?maxPoints=1");
        using var unknown = await client.GetAsync("/api/history?stage=nope");

        Assert.Equal(100_000, reply.TotalPoints);
        Assert.InRange(reply.Points.Count(p => p.Eval.Count == 0), 2, 2000);
        Assert.Equal(1, reply.Points[0].Step);
        Assert.Equal(100_000, reply.Points[^1].Step);
        Assert.Equal(Enumerable.Range(1, 20).Select(i => i * 5000L), reply.Points.Where(p => p.Eval.Count > 0).Select(p => p.Step));
        Assert.Equal(2 * reply.Points.Count, reply.WorkerPoints.Count);
        Assert.Equal(100_000, reply.Cursor);
        Assert.InRange(fallback.Points.Count, 2, DashboardHistoryLimit);
        Assert.Equal((HttpStatusCode.BadRequest, HttpStatusCode.NotFound), (bad.StatusCode, unknown.StatusCode));
    }

    [Fact]
    public async Task Should_list_the_run_s_files_and_refuse_traversal_absolute_paths_links_and_other_files_when_serving_them()
    {
        var root = Directory.CreateTempSubdirectory("mm-web-files-");
        var outside = Directory.CreateTempSubdirectory("mm-web-outside-");
        try
        {
            var run = root.FullName;
            Directory.CreateDirectory(Path.Combine(run, "checkpoints", "clip"));
            Directory.CreateDirectory(Path.Combine(run, "logs"));
            await File.WriteAllTextAsync(Path.Combine(run, "checkpoints", "clip", "step-100.safetensors"), "weights");
            await File.WriteAllTextAsync(Path.Combine(run, "logs", "worker-0.log"), "step 1\n");
            await File.WriteAllTextAsync(Path.Combine(run, "metrics.jsonl"), "{}\n");
            await File.WriteAllTextAsync(Path.Combine(run, "spec-notes.txt"), "not a run file");
            await File.WriteAllTextAsync(Path.Combine(outside.FullName, "secret.txt"), "secret");
            File.CreateSymbolicLink(Path.Combine(run, "logs", "escape.log"), Path.Combine(outside.FullName, "secret.txt"));
            Directory.CreateSymbolicLink(Path.Combine(run, "checkpoints", "elsewhere"), outside.FullName);
            await using var server = await StartAsync(new RunProgressHub(RunSnapshots.Finished()), runDirectory: run);
            using var client = Client(server);
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);

            using var listing = JsonDocument.Parse(await client.GetStringAsync("/api/files"));
            var files = listing.RootElement.GetProperty("files").EnumerateArray()
                .Select(f => (f.GetProperty("path").GetString(), f.GetProperty("bytes").GetInt64(), f.GetProperty("kind").GetString())).ToList();
            var log = await client.GetStringAsync("/files/logs/worker-0.log");

            Assert.Equal(
            [
                ("checkpoints/clip/step-100.safetensors", 7L, "checkpoint"),
                ("logs/worker-0.log", 7L, "log"),
                ("metrics.jsonl", 3L, "metrics"),
            ], files);
            Assert.Equal("step 1\n", log);
            foreach (var path in new[]
            {
                "/files/logs/escape.log", "/files/checkpoints/elsewhere/secret.txt", "/files/spec-notes.txt", "/files/..%2F..%2Fetc%2Fpasswd",
                "/files/logs%2F..%2F..%2Fsecret.txt", "/files/%2Fetc%2Fpasswd", $"/files/..%2F{outside.Name}%2Fsecret.txt",
            })
            {
                using var refused = await client.GetAsync(path);
                Assert.True(refused.StatusCode == HttpStatusCode.NotFound, $"{path}: {refused.StatusCode}");
            }
        }
        finally
        {
            root.Delete(recursive: true);
            outside.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Should_serve_a_finished_run_from_its_metrics_and_summary_when_offline()
    {
        var run = Directory.CreateTempSubdirectory("mm-web-offline-");
        try
        {
            using (var metrics = new MetricsJsonlWriter(Path.Combine(run.FullName, "metrics.jsonl")))
            {
                for (var step = 1; step <= 100; step++)
                {
                    metrics.Append(new HistoryPoint
                    {
                        Stage = "clip",
                        Step = step,
                        Losses = new Dictionary<string, double> { ["loss"] = 2.5 - step / 100.0 },
                        Lr = 1e-3,
                        SamplesPerSecond = 400,
                        Eval = step == 100 ? new Dictionary<string, double> { ["zero_shot_top1"] = 0.61 } : null,
                        Workers = [new WorkerHistoryPoint { WorkerId = "w0", Step = step, StepMs = 120, ForwardBackwardMs = 90 }],
                    });
                }
            }
            var final = RunSnapshots.Finished() with { Stages = [RunSnapshots.Finished().Stages[0] with { State = Shared.Runs.StageState.Done }, RunSnapshots.Finished().Stages[1]] };
            Shared.Runs.RunSummary.From(final).Write(Path.Combine(run.FullName, "summary.json"));
            var source = RunFilesProgressSource.Load(run.FullName);
            await using var server = await WebDashboardServer.StartAsync(new WebDashboardOptions
            {
                Address = IPAddress.Loopback,
                Port = 0,
                Mode = WebDashboardMode.Offline,
                RunDirectory = run.FullName,
            }, source);
            using var client = Client(server);
            using var timeout = new CancellationTokenSource(Timeout);

            var config = await client.GetStringAsync("/api/config");
            var snapshot = RunSnapshot.Parser.ParseJson(await client.GetStringAsync("/api/snapshot"));
            var history = GetHistoryReply.Parser.ParseJson(await client.GetStringAsync("/api/history?maxPoints=10"));
            using var files = JsonDocument.Parse(await client.GetStringAsync("/api/files"));
            using var response = await client.GetAsync("/api/stream", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            using var events = new EventStreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));
            var only = await events.NextAsync(timeout.Token);
            var end = await events.NextAsync(timeout.Token);
            using var page = await client.GetAsync("/");

            Assert.Equal("""{"tokenRequired":false,"mode":"offline"}""", config);
            Assert.Equal((RunState.Succeeded, "clip", 100L), (snapshot.State, snapshot.Stage, snapshot.Step));
            Assert.Equal(("w0", 90.0), (snapshot.Workers.Single().WorkerId, snapshot.Workers.Single().ForwardBackwardMs));
            Assert.Equal(0.61, snapshot.LastEval.Metrics["zero_shot_top1"]);
            Assert.Equal(100, history.TotalPoints);
            Assert.InRange(history.Points.Count, 2, 10);
            Assert.Equal([1L, 100L], new[] { history.Points[0].Step, history.Points[^1].Step });
            Assert.Equal(["metrics.jsonl", "summary.json"], files.RootElement.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("path").GetString()));
            Assert.Equal("snapshot", only!.Value.Event);
            Assert.Null(end);
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        }
        finally
        {
            run.Delete(recursive: true);
        }
    }
}
