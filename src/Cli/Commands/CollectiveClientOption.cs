using System.CommandLine;
using MmCluster.Shared.Hosting;

namespace MmCluster.Cli.Commands;

/// <summary>
/// <c>--collective-client lanes|grpc-net</c> (env <c>MMCLUSTER_COLLECTIVE_CLIENT</c>): which HTTP/2 client a process's
/// collective groups receive with; the lanes' own by default, Grpc.Net.Client as the reference it is measured against.
/// Read by the worker and by the ranks of <c>bench collectives</c> (which inherit the variable).
/// </summary>
internal static class CollectiveClientOption
{
    private const string Lanes = "lanes";
    private const string Reference = "grpc-net";

    public static Option<string> Create()
    {
        var option = EnvOption.Create("--collective-client", "MMCLUSTER_COLLECTIVE_CLIENT",
            $"Which HTTP/2 client collective lanes receive with: {Lanes} (their own) or {Reference} (Grpc.Net.Client, the reference)", Lanes);
        option.AcceptOnlyFromAmong(Lanes, Reference);
        return option;
    }

    public static bool IsReference(string value) => value == Reference;
}
