using System.Diagnostics;
using MmCluster.Cli.Hosting;
using MmCluster.Shared.Grpc.Dashboard;

namespace MmCluster.Cli.Chaos;

/// <summary>
/// Carries out a chaos plan on the dev cluster: asks the <see cref="ChaosScheduler"/> five times a second what is due
/// (given the latest snapshot and the time since the workers started), signals the target's current process (SIGKILL,
/// or SIGSTOP and SIGCONT after the duration), says so on the console and appends it to chaos.jsonl.
/// </summary>
internal sealed class ChaosMonkey(
    ChaosScheduler scheduler, Func<string, ChildProcess?> processOf, ChaosJournal journal, Action<string> say, Action<string, TimeSpan>? holdRestart = null)
    : IAsyncDisposable
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(200);
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly CancellationTokenSource disposed = new();
    private readonly List<Task> resumes = [];
    private readonly HashSet<int> frozen = [];
    private int disposing;
    private Func<RunSnapshot?> latest = () => null;

    /// <summary>Runs until cancelled; <paramref name="latest"/> gives the run's latest dashboard snapshot (null before the first).</summary>
    public async Task RunAsync(Func<RunSnapshot?> latest, CancellationToken cancellationToken)
    {
        this.latest = latest;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, disposed.Token);
        using var timer = new PeriodicTimer(Poll);
        try
        {
            do
            {
                var snapshot = latest();
                foreach (var action in scheduler.Due(clock.Elapsed, snapshot))
                {
                    Execute(action, snapshot);
                }
            }
            while (await timer.WaitForNextTickAsync(linked.Token));
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Execute(ChaosAction action, RunSnapshot? snapshot)
    {
        var child = processOf(action.Target);
        var pid = child is { HasExited: false } ? child.Pid : (int?)null;
        var verb = action.Kind == ChaosKind.Kill ? "kill" : "stop";
        if (pid is not null && action is { Kind: ChaosKind.Kill, StopFor: { } down })
        {
            holdRestart?.Invoke(action.Target, down);   // before the signal: the supervisor sees the exit right after it
        }
        var sent = pid is { } p && (action.Kind == ChaosKind.Kill ? Posix.Kill(p) : Posix.Stop(p));
        var result = sent ? "sent" : pid is null ? "not running" : "signal failed";
        Record(verb, action, pid, snapshot, result);
        if (sent && action.Kind == ChaosKind.Stop)
        {
            lock (frozen)
            {
                frozen.Add(pid!.Value);
                resumes.Add(ResumeAfterAsync(action, pid.Value, action.StopFor ?? TimeSpan.Zero));
            }
        }
    }

    private async Task ResumeAfterAsync(ChaosAction action, int pid, TimeSpan after)
    {
        try
        {
            await Task.Delay(after, disposed.Token);
        }
        catch (OperationCanceledException)
        {
        }
        lock (frozen)
        {
            if (!frozen.Remove(pid))
            {
                return;
            }
        }
        Record("cont", action, pid, latest(), Posix.Continue(pid) ? "sent" : "signal failed");
    }

    private void Record(string verb, ChaosAction action, int? pid, RunSnapshot? snapshot, string result)
    {
        var signal = verb switch { "kill" => "SIGKILL", "stop" => "SIGSTOP", _ => "SIGCONT" };
        var where = snapshot is null ? "before the first snapshot" : $"{snapshot.State} stage {snapshot.Stage} step {snapshot.Step}";
        say(pid is null
            ? $"chaos: {action.Describe()}: {action.Target} is not running (restarting?); skipped"
            : $"chaos: {action.Describe()}: {signal} to {action.Target} (pid {pid}) at {where}{(result == "sent" ? "" : $": {result}")}");
        journal.Append(new ChaosRecord(DateTimeOffset.UtcNow, Math.Round(clock.Elapsed.TotalSeconds, 3), verb, action.Target, pid,
            snapshot?.Stage, snapshot?.Step, action.Describe(), result));
    }

    /// <summary>Stops the plan and sends SIGCONT at once to every process still frozen (so it can be stopped or killed).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposing, 1) == 1)
        {
            return;
        }
        await disposed.CancelAsync();
        Task[] pending;
        lock (frozen)
        {
            pending = [.. resumes];
        }
        await Task.WhenAll(pending);
        disposed.Dispose();
    }
}
