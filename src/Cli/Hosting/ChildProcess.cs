using System.Diagnostics;

namespace MmCluster.Cli.Hosting;

/// <summary>
/// A child process running this same program (<c>mmcluster coordinator</c>, <c>mmcluster worker</c>): its output
/// goes, line by line, to a log file and to an optional observer; it is killed with its whole tree on dispose.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly StreamWriter logFile;
    private readonly object gate = new();

    private ChildProcess(string name, Process process, StreamWriter logFile)
    {
        Name = name;
        this.process = process;
        this.logFile = logFile;
    }

    public string Name { get; }

    public int Pid => process.Id;

    public bool HasExited => process.HasExited;

    public int ExitCode => process.ExitCode;

    /// <summary>The last lines the process printed (for error reports).</summary>
    public Queue<string> Tail { get; } = new();

    /// <summary>Starts <c>mmcluster ARGS</c> as a child, with extra environment variables.</summary>
    public static ChildProcess Start(string name, IEnumerable<string> args, IReadOnlyDictionary<string, string> environment, string logPath, Action<string, string>? onLine = null) =>
        Start(name, SelfStartInfo(args), environment, logPath, onLine);

    /// <summary>Starts any program as a child (e.g. a container's entry point for <c>k8s run-local</c>).</summary>
    public static ChildProcess Start(string name, ProcessStartInfo info, IReadOnlyDictionary<string, string> environment, string logPath, Action<string, string>? onLine = null)
    {
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(logPath))!);
        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var child = new ChildProcess(name, process, log);
        DataReceivedEventHandler handler = (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }
            lock (child.gate)
            {
                log.WriteLine(e.Data);
                child.Tail.Enqueue(e.Data);
                if (child.Tail.Count > 20)
                {
                    child.Tail.Dequeue();
                }
            }
            onLine?.Invoke(name, e.Data);
        };
        process.OutputDataReceived += handler;
        process.ErrorDataReceived += handler;
        if (!process.Start())
        {
            throw new InvalidOperationException($"could not start {name}: {info.FileName} {string.Join(' ', info.ArgumentList)}");
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>How to start this program again: the apphost directly, or <c>dotnet mmcluster.dll</c>.</summary>
    public static ProcessStartInfo SelfStartInfo(IEnumerable<string> args)
    {
        var processPath = Environment.ProcessPath ?? "dotnet";
        var entry = typeof(ChildProcess).Assembly.Location;
        var info = new ProcessStartInfo(processPath);
        if (Path.GetFileNameWithoutExtension(processPath).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            info.ArgumentList.Add(entry);
        }
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        return info;
    }

    /// <summary>Writes a line of the supervisor's own into the child's log (e.g. the separator before a restart).</summary>
    public void AppendToLog(string line)
    {
        lock (gate)
        {
            logFile.WriteLine(line);
        }
    }

    public Task WaitAsync(CancellationToken cancellationToken) => process.WaitForExitAsync(cancellationToken);

    public void Kill()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
        }
    }

    /// <summary>Asks the child to stop (SIGTERM: a graceful cluster leave), then kills it after <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (process.HasExited)
        {
            return;
        }
        try
        {
            Posix.Terminate(process.Id);
            using var timeout = new CancellationTokenSource(grace);
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
        }
        process.Dispose();
        lock (gate)
        {
            logFile.Dispose();
        }
    }
}
