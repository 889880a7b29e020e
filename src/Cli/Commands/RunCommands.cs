using System.CommandLine;

namespace MmCluster.Cli.Commands;

/// <summary>The run commands: <c>dev</c>, <c>watch</c>, <c>coordinator</c>, <c>worker</c> (not implemented yet).</summary>
internal static class RunCommands
{
    public static IEnumerable<Command> Create()
    {
        yield break;
    }
}
