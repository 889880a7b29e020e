using System.Diagnostics;
using Xunit.Abstractions;

namespace MmCluster.Coordinator.Tests.Cluster;

/// <summary>One <see cref="ClusterTestHost"/> process: its stdout lines, kept and echoed to the test output.</summary>
internal sealed class HostProcess : IDisposable
{
    private readonly Process process;
    private readonly List<string> lines = [];
    private readonly ITestOutputHelper output;
    private readonly string name;

    public HostProcess(string name, ITestOutputHelper output, params string[] args)
    {
        this.name = name;
        this.output = output;
        var assembly = typeof(ClusterTestHost).Assembly.Location;
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(assembly)!,
        };
        start.ArgumentList.Add(assembly);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Record(e.Data, "");
        process.ErrorDataReceived += (_, e) => Record(e.Data, "stderr: ");
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (lines)
            {
                return lines.ToList();
            }
        }
    }

    /// <summary>Waits for a line matching <paramref name="match"/> and returns it; fails naming the process otherwise.</summary>
    public string WaitForLine(Func<string, bool> match, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            var found = Lines.FirstOrDefault(match);
            if (found is not null)
            {
                return found;
            }
            if (process.HasExited)
            {
                // The parameterless WaitForExit also waits until the redirected output has been read to its end, so
                // lines printed just before the exit are not mistaken for missing ones.
                process.WaitForExit();
                if (Lines.FirstOrDefault(match) is { } last)
                {
                    return last;
                }
                throw new InvalidOperationException($"{name} exited with {process.ExitCode} before the expected line:\n{string.Join('\n', Lines)}");
            }
            Thread.Sleep(50);
        }
        throw new TimeoutException($"{name} printed no expected line within {timeout}:\n{string.Join('\n', Lines)}");
    }

    /// <summary>Waits for the process to exit and returns its exit code.</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        if (!process.WaitForExit(timeout))
        {
            throw new TimeoutException($"{name} did not exit within {timeout}:\n{string.Join('\n', Lines)}");
        }
        process.WaitForExit();
        return process.ExitCode;
    }

    /// <summary>SIGKILL: the process dies without leaving the cluster.</summary>
    public void Kill() => process.Kill(entireProcessTree: true);

    public void Dispose()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(5000);
        }
        process.Dispose();
    }

    private void Record(string? line, string prefix)
    {
        if (line is null)
        {
            return;
        }
        lock (lines)
        {
            lines.Add(prefix + line);
        }
        try
        {
            output.WriteLine($"[{name}] {prefix}{line}");
        }
        catch (InvalidOperationException)
        {
            // The test already finished; its output helper is closed.
        }
    }
}
