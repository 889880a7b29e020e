using System.Text.RegularExpressions;

namespace MmCluster.Cli.Hosting;

/// <summary>
/// What of a child's output <c>mmcluster dev</c> shows: every line but the frames of a .NET stack trace, which stay in the
/// child's log file. A run of frames is replaced by one pointer to that file, so an error reads as one clean line.
/// </summary>
internal sealed partial class ChildOutput(string logPath)
{
    private bool inTrace;

    /// <summary>The line to show for <paramref name="line"/>, a pointer to the log for the first frame of a trace, or null.</summary>
    public string? Show(string line)
    {
        if (!IsStackFrame(line))
        {
            inTrace = false;
            return line;
        }
        if (inTrace)
        {
            return null;
        }
        inTrace = true;
        return $"  (stack trace in {logPath})";
    }

    /// <summary>A frame (<c>   at X.Y()</c>) or a marker between frames (<c>--- End of stack trace ... ---</c>).</summary>
    public static bool IsStackFrame(string line) => FramePattern().IsMatch(line);

    [GeneratedRegex(@"^\s+at \S|^\s*--- End of .*---\s*$")]
    private static partial Regex FramePattern();
}
