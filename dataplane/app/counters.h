// App-layer counters (see dataplane/core/counter_def.h). Flows by protocol
// (AppCounters::detected[], stats.app_layer.flow.* and <proto>.flows) are
// written by hand in dataplane/core/stats.cc.
#pragma once

#define SPECTRE_APP_COUNTERS(X)                                                                                \
  X(http_requests, "app_layer.tx.http_requests", kCounter, "HTTP requests parsed.")                           \
  X(http_responses, "app_layer.tx.http_responses", kCounter, "HTTP responses parsed.")                        \
  X(dns_queries, "app_layer.tx.dns_queries", kCounter, "DNS queries parsed.")                                 \
  X(dns_answers, "app_layer.tx.dns_answers", kCounter, "DNS answers parsed.")                                 \
  X(tls_client_hellos, "app_layer.tx.tls_client_hellos", kCounter, "TLS ClientHellos parsed.")                \
  X(tls_server_hellos, "app_layer.tx.tls_server_hellos", kCounter, "TLS ServerHellos parsed.")                \
  X(parse_errors, "app_layer.parse_errors", kCounter, "App-layer parse errors.")                              \
  X(tx_pool_empty, "app_layer.tx_pool_empty", kCounter, "Transactions not kept: pool empty.")                 \
  X(truncated, "app_layer.truncated", kCounter, "Transactions cut at their buffer.")                          \
  X(http_decompressed, "app_layer.http_decompressed", kCounter, "HTTP bodies decoded.")                       \
  X(http_decompress_cut, "app_layer.http_decompress_cut", kCounter, "HTTP bodies cut at the limit.")          \
  X(http_decompress_errors, "app_layer.http_decompress_errors", kCounter, "HTTP bodies corrupt (rest raw).")  \
  X(http_decompress_pool_empty, "app_layer.http_decompress_pool_empty", kCounter,                            \
    "HTTP bodies not decoded: every decoder in use.")                                                         \
  X(tls_certificates, "app_layer.tls_certificates", kCounter, "TLS Certificate messages parsed.")             \
  X(tls_cert_truncated, "app_layer.tls_cert_truncated", kCounter, "TLS Certificate messages cut.")            \
  X(tls_cert_errors, "app_layer.tls_cert_errors", kCounter, "TLS leaf certificates not readable.")            \
  X(file_hash_pool_empty, "app_layer.file_hash_pool_empty", kCounter, "Files with no digest state free.")     \
  X(smtp_mails, "app_layer.mail_ftp.smtp_mails", kCounter, "SMTP mail transactions.")                         \
  X(smtp_attachments, "app_layer.mail_ftp.smtp_attachments", kCounter, "SMTP attachments.")                   \
  X(ftp_commands, "app_layer.mail_ftp.ftp_commands", kCounter, "FTP commands.")                               \
  X(ftp_data_flows, "app_layer.mail_ftp.ftp_data_expected", kCounter, "ftp-data flows found by expectation.") \
  X(ftp_expect_full, "app_layer.mail_ftp.ftp_expect_full", kCounter, "FTP expectations dropped: table full.") \
  X(ftp_bounces, "app_layer.mail_ftp.ftp_bounces", kCounter, "FTP PORT commands naming another host.")        \
  X(quic_initials, "app_layer.quic.initials_decrypted", kCounter, "QUIC Initial packets decrypted.")          \
  X(quic_decrypt_errors, "app_layer.quic.decrypt_errors", kCounter, "QUIC Initial packets not decrypted.")    \
  X(quic_hellos, "app_layer.quic.hellos", kCounter, "QUIC ClientHellos and CHLOs read.")                      \
  X(sip_requests, "app_layer.sip.requests", kCounter, "SIP requests.")                                        \
  X(sip_responses, "app_layer.sip.responses", kCounter, "SIP responses.")                                     \
  X(ssh_banners, "app_layer.ssh.banners", kCounter, "SSH banners parsed.")                                    \
  X(ssh_kexinits, "app_layer.ssh.kexinits", kCounter, "SSH KEXINITs parsed.")                                 \
  X(ssh_kex_skipped, "app_layer.ssh.kex_skipped", kCounter, "SSH KEXINITs not kept (no HASSH).")              \
  X(mqtt_messages, "app_layer.mqtt.messages", kCounter, "MQTT messages.")                                     \
  X(mqtt_malformed, "app_layer.mqtt.malformed", kCounter, "MQTT messages malformed.")                         \
  X(mqtt_truncated, "app_layer.mqtt.truncated", kCounter, "MQTT messages larger than the buffer.")            \
  X(krb5_messages, "app_layer.krb5.messages", kCounter, "Kerberos messages.")                                 \
  X(krb5_malformed, "app_layer.krb5.malformed", kCounter, "Kerberos messages malformed or cut.")              \
  X(krb5_too_large, "app_layer.krb5.too_large", kCounter, "Kerberos TCP records over the buffer.")            \
  X(krb5_malformed_events, "app_layer.krb5.malformed_data_events", kCounter, "krb5.malformed_data events.")   \
  X(smb_messages, "app_layer.smb.messages", kCounter, "SMB messages (each command of a compound).")           \
  X(smb_malformed, "app_layer.smb.malformed", kCounter, "SMB messages malformed.")                            \
  X(smb_encrypted, "app_layer.smb.encrypted", kCounter, "SMB3 encrypted messages skipped.")                   \
  X(smb_unpaired, "app_layer.smb.unpaired", kCounter, "SMB answers with no pending request.")                 \
  X(smb_pair_full, "app_layer.smb.pair_full", kCounter, "SMB requests dropped from the full table.")          \
  X(smb_files, "app_layer.smb.files", kCounter, "SMB2 file transfers logged.")                                \
  X(smb_file_truncated, "app_layer.smb.files_truncated", kCounter, "SMB files logged TRUNCATED.")             \
  X(smb_no_ctx, "app_layer.smb.no_context", kCounter, "SMB flows with no context free.")                      \
  X(smb_file_table_full, "app_layer.smb.file_table_full", kCounter, "SMB open files dropped: table full.")    \
  X(smb_file_reads_full, "app_layer.smb.file_reads_full", kCounter, "SMB pending READs dropped: table full.")  \
  X(smb_file_busy, "app_layer.smb.file_busy", kCounter, "SMB data of a second file in a direction.")          \
  X(dcerpc_pdus, "app_layer.dcerpc.pdus", kCounter, "DCERPC PDUs.")                                           \
  X(dcerpc_malformed, "app_layer.dcerpc.malformed", kCounter, "DCERPC PDUs malformed.")                       \
  X(dcerpc_stub_cut, "app_layer.dcerpc.stub_cut", kCounter, "DCERPC stub data longer than the buffer.")       \
  X(dcerpc_pend_full, "app_layer.dcerpc.pend_full", kCounter, "DCERPC requests dropped: call table full.")     \
  X(dcerpc_calls_dropped, "app_layer.dcerpc.calls_dropped", kCounter, "DCERPC fragmented calls dropped.")     \
  X(http2_frames, "app_layer.http2.frames", kCounter, "HTTP/2 frames.")                                       \
  X(http2_streams, "app_layer.http2.streams", kCounter, "HTTP/2 streams opened.")                             \
  X(http2_streams_evicted, "app_layer.http2.streams_evicted", kCounter, "HTTP/2 streams finished early.")     \
  X(http2_streams_refused, "app_layer.http2.streams_refused", kCounter, "HTTP/2 streams not tracked.")        \
  X(http2_malformed, "app_layer.http2.malformed", kCounter, "HTTP/2 frames malformed.")                       \
  X(http2_hpack_errors, "app_layer.http2.hpack_errors", kCounter, "HTTP/2 header blocks not decodable.")      \
  X(http2_no_ctx, "app_layer.http2.no_context", kCounter, "HTTP/2 flows with no context free.")               \
  X(http2_reclaimed, "app_layer.http2.reclaimed", kCounter, "HTTP/2 contexts taken from idle flows.")
