using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using MmCluster.Cli.Commands;
using MmCluster.Coordinator.Hosting;
using MmCluster.Coordinator.Progress;
using MmCluster.Coordinator.Services;
using MmCluster.Shared.Runs;
using MmCluster.Shared.Spec;
using Xunit;
using Xunit.Abstractions;
using Proto = MmCluster.Shared.Grpc.Dashboard;

namespace MmCluster.Cli.Tests.Commands;

/// <summary>Runs <c>mmcluster watch</c> against a real dashboard on loopback.</summary>
public sealed class WatchCommandSpecs(ITestOutputHelper log)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static RunSnapshot Pending() => new()
    {
        RunId = "run-7",
        RunName = "demo",
        WorldSize = 2,
        Stages = [new StageProgress { Name = "clip", Kind = StageKind.Clip, TotalSteps = 10 }],
    };

    private static RunSnapshot Running(long step) => Pending() with
    {
        State = RunState.Running,
        Stage = "clip",
        Step = step,
        Loss = 1.5,
        Stages = [Pending().Stages[0] with { State = StageState.Running, Step = step, Losses = new Dictionary<string, double> { ["loss"] = 1.5 } }],
        Workers = [new WorkerProgress { WorkerId = "w0", Rank = 0, Address = "127.0.0.1:7001", State = WorkerState.Training, Step = step }],
    };

    private static RunSnapshot Ended(RunState state, string? error = null) => Running(10) with
    {
        State = state,
        Error = error,
        Stages = [Running(10).Stages[0] with { State = state == RunState.Succeeded ? StageState.Done : StageState.Failed }],
        Ledger = [new LedgerCounters("clip", 0, 1280, 1280, 0, 0)],
    };

    private sealed class Captured
    {
        private readonly StringWriter _output = new();
        private readonly StringWriter _error = new();

        public Captured()
        {
            Output = TextWriter.Synchronized(_output);
            Error = TextWriter.Synchronized(_error);
        }

        public TextWriter Output { get; }

        public TextWriter Error { get; }

        public string OutputText => Read(Output, _output);

        public string ErrorText => Read(Error, _error);

        public string[] OutputLines => OutputText.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        // TextWriter.Synchronized locks the wrapper itself on every write.
        private static string Read(TextWriter wrapper, StringWriter inner)
        {
            lock (wrapper)
            {
                return inner.ToString();
            }
        }

        public async Task WaitForOutputAsync(Func<string, bool> condition)
        {
            var deadline = DateTime.UtcNow + Timeout;
            while (!condition(OutputText + ErrorText))
            {
                Assert.True(DateTime.UtcNow < deadline, $"timed out; output: {OutputText}; error: {ErrorText}");
                await Task.Delay(20);
            }
        }
    }

    private static Task<int> Watch(Captured captured, params string[] args)
    {
        var root = new RootCommand { WatchCommand.Create() };
        var config = new InvocationConfiguration { Output = captured.Output, Error = captured.Error };
        return Task.Run(() => root.Parse(["watch", .. args]).InvokeAsync(config));
    }

    [Fact]
    public async Task Should_print_one_snapshot_per_line_and_exit_zero_when_the_run_succeeds_in_json_mode()
    {
        var hub = new RunProgressHub(Pending());
        await using var server = await DashboardServer.StartAsync(new DashboardOptions { Port = 0, Token = "t0k" }, hub);
        var captured = new Captured();

        var watch = Watch(captured, "--coordinator", server.Address.ToString(), "--token", "t0k", "--json");
        await captured.WaitForOutputAsync(o => o.Contains("RUN_STATE_PENDING"));
        hub.Publish(Running(4));
        await captured.WaitForOutputAsync(o => o.Contains("RUN_STATE_RUNNING"));
        hub.Publish(Ended(RunState.Succeeded));

        Assert.Equal(WatchCommand.Succeeded, await watch.WaitAsync(Timeout));
        var snapshots = captured.OutputLines.Select(Proto.RunSnapshot.Parser.WithDiscardUnknownFields(false).ParseJson).ToList();
        Assert.Equal([Proto.RunState.Pending, Proto.RunState.Running, Proto.RunState.Succeeded], snapshots.Select(s => s.State));
        Assert.Equal(("run-7", 4L, "w0"), (snapshots[1].RunId, snapshots[1].Step, snapshots[1].Workers[0].WorkerId));
        Assert.Equal(Proto.StageState.Done, snapshots[2].Stages[0].State);
        Assert.Equal("", captured.ErrorText);
    }

    [Fact]
    public async Task Should_wait_for_a_coordinator_that_is_not_up_yet_and_exit_one_with_the_error_when_the_run_fails()
    {
        var port = FreePort();
        var captured = new Captured();
        var watch = Watch(captured, "--coordinator", $"http://127.0.0.1:{port}", "--json");
        await captured.WaitForOutputAsync(o => o.Contains("waiting for the coordinator"));

        var hub = new RunProgressHub(Pending());
        await using var server = await DashboardServer.StartAsync(new DashboardOptions { Port = port }, hub);
        await captured.WaitForOutputAsync(o => o.Contains("RUN_STATE_PENDING"));
        hub.Publish(Ended(RunState.Failed, "worker w1 (rank 1) left the cluster"));

        Assert.Equal(WatchCommand.RunFailed, await watch.WaitAsync(Timeout));
        Assert.Contains("mmcluster watch: run demo failed: worker w1 (rank 1) left the cluster", captured.ErrorText);
    }

    [Fact]
    public async Task Should_exit_two_without_retrying_when_the_token_is_refused()
    {
        await using var server = await DashboardServer.StartAsync(new DashboardOptions { Port = 0, Token = "right" }, new RunProgressHub(Pending()));
        var captured = new Captured();

        var code = await Watch(captured, "--coordinator", server.Address.ToString(), "--token", "wrong", "--json").WaitAsync(Timeout);

        Assert.Equal(WatchCommand.BadCall, code);
        Assert.Contains("refused the call: wrong bearer token", captured.ErrorText);
    }

    [Fact]
    public async Task Should_show_the_final_summary_when_the_live_view_ends()
    {
        var hub = new RunProgressHub(Ended(RunState.Succeeded));
        await using var server = await DashboardServer.StartAsync(new DashboardOptions { Port = 0 }, hub);
        var captured = new Captured();

        var code = await Watch(captured, "--coordinator", server.Address.ToString()).WaitAsync(Timeout);

        Assert.Equal(WatchCommand.Succeeded, code);
        var output = captured.OutputText;
        log.WriteLine(output);
        Assert.Contains("1280 of 1280 samples committed", output);
        Assert.Contains("run demo succeeded", output);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
