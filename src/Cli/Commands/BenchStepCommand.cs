using System.CommandLine;

namespace MmCluster.Cli.Commands;

/// <summary><c>mmcluster bench step</c> (not implemented yet).</summary>
internal static class BenchStepCommand
{
    public static Command Create()
    {
        var command = new Command("step", "Not implemented yet.");
        command.SetAction(_ =>
        {
            Console.Error.WriteLine("mmcluster bench step: not implemented yet");
            return 2;
        });
        return command;
    }
}
