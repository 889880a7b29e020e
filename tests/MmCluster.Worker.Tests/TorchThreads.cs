using System.Runtime.CompilerServices;
using TorchSharp;

namespace MmCluster.Worker.Tests;

/// <summary>
/// One intra-op thread for every test in this assembly: test classes already run in parallel, and OpenMP's spinning
/// threads on a shared 2-core machine make a micro-model step 10-30x slower than single-threaded.
/// </summary>
internal static class TorchThreads
{
    [ModuleInitializer]
    internal static void UseOneThread() => torch.set_num_threads(1);
}
