using System.Globalization;

namespace MmCluster.Cli.Hosting;

/// <summary>
/// Keeps one child of the dev cluster running: when it exits by a signal or a non-zero exit code while
/// <c>mayRestart</c> says the run still needs it, it is started again after <see cref="SupervisionOptions.Delay"/>
/// (through <c>start</c>, which gets the restart count), at most <see cref="SupervisionOptions.MaxRestarts"/> times.
/// Its log gets a separator line before each restart and the console one line per exit. <see cref="StopAsync"/> (run
/// over, Ctrl-C) ends the supervision without restarts.
/// </summary>
internal sealed class SupervisedProcess : IAsyncDisposable
{
    private readonly Func<int, ChildProcess> start;
    private readonly Func<bool> mayRestart;
    private readonly Action<string> report;
    private readonly SupervisionOptions options;
    private readonly CancellationTokenSource stopping = new();
    private readonly SemaphoreSlim transition = new(1, 1);
    private ChildProcess current;

    private SupervisedProcess(string name, Func<int, ChildProcess> start, SupervisionOptions options, Func<bool> mayRestart, Action<string> report)
    {
        Name = name;
        this.start = start;
        this.options = options;
        this.mayRestart = mayRestart;
        this.report = report;
        current = start(0);
        Exited = SuperviseAsync();
    }

    public string Name { get; }

    /// <summary>The child running now (or the last one, once supervision ended).</summary>
    public ChildProcess Current => Volatile.Read(ref current);

    public int Restarts { get; private set; }

    private long holdUntilTicks;

    /// <summary>The next restart waits at least <paramref name="duration"/> from now (a node that stays away for a while).</summary>
    public void HoldRestart(TimeSpan duration) =>
        Interlocked.Exchange(ref holdUntilTicks, (DateTimeOffset.UtcNow + duration).UtcTicks);

    /// <summary>Completes with the last child once it exited and will not be restarted.</summary>
    public Task<ChildProcess> Exited { get; }

    /// <summary>
    /// Starts the first child with <c>start(0)</c> and supervises it.
    /// <paramref name="mayRestart"/> is asked after an exit and again after the delay (the run may have ended meanwhile).
    /// </summary>
    public static SupervisedProcess Start(string name, Func<int, ChildProcess> start, SupervisionOptions options, Func<bool> mayRestart, Action<string> report) =>
        new(name, start, options, mayRestart, report);

    /// <summary>Ends the supervision (no more restarts) and stops the child: SIGTERM, then SIGKILL after <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        await stopping.CancelAsync();
        ChildProcess child;
        await transition.WaitAsync();
        try
        {
            child = Current;
        }
        finally
        {
            transition.Release();
        }
        await child.StopAsync(grace);
    }

    private async Task<ChildProcess> SuperviseAsync()
    {
        while (true)
        {
            var child = Current;
            await child.WaitAsync(CancellationToken.None);
            var code = child.ExitCode;
            if (stopping.IsCancellationRequested || code == 0 || !mayRestart())
            {
                return child;
            }
            var why = Posix.DescribeExit(code);
            if (options.RefuseRestart?.Invoke(code) is { } refused)
            {
                report($"{Name} exited ({why}); not restarting: {refused}");
                return child;
            }
            if (Restarts >= options.MaxRestarts)
            {
                report($"{Name} exited ({why}); not restarting: it was restarted {Restarts} times, the most {options.MaxRestartsOption} allows");
                return child;
            }
            var held = new DateTimeOffset(Interlocked.Exchange(ref holdUntilTicks, 0), TimeSpan.Zero) - DateTimeOffset.UtcNow;
            var delay = held > options.Delay ? held : options.Delay;
            report(held > options.Delay
                ? $"{Name} exited ({why}); restarting in {delay.TotalSeconds:0} s (chaos keeps it away)"
                : $"{Name} exited ({why}); restarting");
            try
            {
                await Task.Delay(delay, stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return child;
            }
            await transition.WaitAsync();
            try
            {
                if (stopping.IsCancellationRequested || !mayRestart())
                {
                    return child;
                }
                var signal = Posix.SignalOf(code) is { } name ? $" ({name})" : "";
                child.AppendToLog(string.Create(CultureInfo.InvariantCulture,
                    $"--- restarted after exit code {code}{signal} at {DateTimeOffset.Now:yyyy-MM-dd HH:mm:ss.fff zzz} (restart {Restarts + 1} of at most {options.MaxRestarts}) ---"));
                ChildProcess next;
                try
                {
                    next = start(Restarts + 1);
                }
                catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or IOException)
                {
                    report($"{Name} could not be restarted: {e.Message}");
                    return child;
                }
                Restarts++;
                Volatile.Write(ref current, next);
                await child.DisposeAsync();
            }
            finally
            {
                transition.Release();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        await transition.WaitAsync();
        try
        {
            Current.Kill();
        }
        finally
        {
            transition.Release();
        }
        var last = await Exited;
        await last.DisposeAsync();
        stopping.Dispose();
        transition.Dispose();
    }
}
