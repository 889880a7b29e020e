using System.CommandLine;

namespace MmCluster.Cli.Tests.Commands;

/// <summary>Runs one command in this process, as <c>mmcluster</c> would, with its output and errors captured.</summary>
internal static class InProcessCommand
{
    public static async Task<(int Code, string Output, string Error)> RunAsync(Command command, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await command.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }
}
