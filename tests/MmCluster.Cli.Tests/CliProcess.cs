using System.Diagnostics;

namespace MmCluster.Cli.Tests;

/// <summary>
/// <c>dotnet mmcluster.dll ARGS</c> running as a child process, as a user starts it: its stdout and stderr lines are
/// collected as they come, a spec may wait for one, and disposing kills the whole process tree if it still runs.
/// </summary>
internal sealed class CliProcess : IDisposable
{
    private readonly Process _process;
    private readonly string _command;
    private readonly List<string> _lines = [];

    private CliProcess(Process process, string command)
    {
        _process = process;
        _command = command;
    }

    /// <summary>Every line written so far, stdout and stderr interleaved as they arrived.</summary>
    public string Log
    {
        get
        {
            lock (_lines)
            {
                return string.Join('\n', _lines);
            }
        }
    }

    public static CliProcess Start(IEnumerable<string> args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mmcluster.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        var cli = new CliProcess(Process.Start(info)!, $"mmcluster {string.Join(' ', info.ArgumentList.Skip(1))}");
        cli._process.OutputDataReceived += cli.Collect;
        cli._process.ErrorDataReceived += cli.Collect;
        cli._process.BeginOutputReadLine();
        cli._process.BeginErrorReadLine();
        return cli;
    }

    /// <summary>The first line that <paramref name="match"/> accepts, waiting for it up to <paramref name="timeout"/>.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            lock (_lines)
            {
                if (_lines.FirstOrDefault(match) is { } line)
                {
                    return line;
                }
            }
            if (_process.HasExited || clock.Elapsed > timeout)
            {
                // Lines still in the pipe are read before the exit is reported.
                if (_process.HasExited)
                {
                    _process.WaitForExit();
                    lock (_lines)
                    {
                        if (_lines.FirstOrDefault(match) is { } last)
                        {
                            return last;
                        }
                    }
                }
                throw new TimeoutException(
                    $"{_command} {(_process.HasExited ? $"exited {_process.ExitCode}" : $"ran {timeout}")} without printing the expected line:\n{Log}");
            }
            await Task.Delay(50);
        }
    }

    /// <summary>The exit code once all output is read; kills the process tree after <paramref name="timeout"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{_command} did not finish in {timeout}:\n{Log}");
        }
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // It exited between the check and the kill.
        }
        _process.Dispose();
    }

    private void Collect(object _, DataReceivedEventArgs e)
    {
        if (e.Data is { } line)
        {
            lock (_lines)
            {
                _lines.Add(line);
            }
        }
    }
}
