using System;
using System.Reflection;
using System.Runtime.InteropServices;
using TypedRpc.Kafka;

namespace TypedRpc.DevServices;

/// <summary>
/// The few librdkafka entry points the mock cluster needs (rdkafka.h, rdkafka_mock.h), bound to the
/// very library Confluent.Kafka loaded (<see cref="KafkaNativeLibrary.Handle"/>): one librdkafka in
/// the process, whichever file it came from.
/// </summary>
internal static class NativeMethods
{
    private const string Library = "librdkafka";

    public const int ProducerType = 0;

    private static readonly object s_lock = new();
    private static bool s_bound;

    /// <summary>Routes this assembly's imports of librdkafka to Confluent.Kafka's; call before any of them.</summary>
    public static void Bind()
    {
        lock (s_lock)
        {
            if (!s_bound)
            {
                // This assembly's own resolver: nobody else registers one for it.
                NativeLibrary.SetDllImportResolver(typeof(NativeMethods).Assembly, Resolve);
                s_bound = true;
            }
        }
    }

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
        => string.Equals(libraryName, Library, StringComparison.Ordinal) ? KafkaNativeLibrary.Handle : IntPtr.Zero;

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    public static extern IntPtr rd_kafka_conf_new();

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    public static extern int rd_kafka_conf_set(IntPtr conf, [MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, byte[] errstr, UIntPtr errstrSize);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    public static extern void rd_kafka_conf_destroy(IntPtr conf);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    public static extern IntPtr rd_kafka_new(int type, IntPtr conf, byte[] errstr, UIntPtr errstrSize);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    public static extern void rd_kafka_destroy(IntPtr rk);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    public static extern IntPtr rd_kafka_err2str(int err);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    public static extern IntPtr rd_kafka_version_str();

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    public static extern IntPtr rd_kafka_mock_cluster_new(IntPtr rk, int brokerCount);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    public static extern void rd_kafka_mock_cluster_destroy(IntPtr cluster);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    public static extern IntPtr rd_kafka_mock_cluster_bootstraps(IntPtr cluster);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    public static extern void rd_kafka_mock_group_initial_rebalance_delay_ms(IntPtr cluster, int delayMs);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    public static extern int rd_kafka_mock_topic_create(IntPtr cluster, [MarshalAs(UnmanagedType.LPUTF8Str)] string topic, int partitions, int replicationFactor);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    public static extern int rd_kafka_mock_broker_set_down(IntPtr cluster, int brokerId);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    public static extern int rd_kafka_mock_broker_set_up(IntPtr cluster, int brokerId);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    public static extern int rd_kafka_mock_broker_set_rtt(IntPtr cluster, int brokerId, int rttMs);

    public static string ErrorText(int error) => Marshal.PtrToStringUTF8(rd_kafka_err2str(error)) ?? $"error {error}";
}
